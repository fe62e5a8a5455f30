"""A throwaway PostgreSQL cluster (initdb + pg_ctl in a temporary directory) for the live tests.

PostgreSQL refuses to run as root, so when the tests run as root every server command runs as the
`postgres` user (`runuser`), and the directory is handed to that user. The cluster listens on a
unix socket in its own directory and on a free loopback TCP port. Nothing here skips: missing
binaries raise an error that says how to install them.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "postgres"
PASSWORD_GROUP = "sql_lsp_password_login"  # members authenticate with a password
PREFIX = "sql-lsp-pg-"
OWNER_FILE = "owner.pid"  # the pid of the test process that created the cluster


class ClusterError(RuntimeError):
    """The throwaway cluster could not be created, started or stopped."""


def find_bindir() -> Path:
    """The newest PostgreSQL server bin directory holding initdb and pg_ctl.

    `SQL_LSP_PG_BINDIR` wins; then /usr/lib/postgresql/<major>/bin (Debian, Ubuntu); then the
    directory of `pg_ctl` on PATH.
    """
    candidates: list[Path] = []
    if os.environ.get("SQL_LSP_PG_BINDIR"):
        candidates.append(Path(os.environ["SQL_LSP_PG_BINDIR"]))
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += debian
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise ClusterError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: run scripts/ensure-postgres, "
        "or set SQL_LSP_TEST_DATABASE_URL to a server to test against"
    )


def remove_abandoned(bindir: Path) -> list[Path]:
    """Stop and delete throwaway clusters whose owning test process no longer exists (a run
    killed before its teardown). Clusters of live processes are left alone."""
    removed: list[Path] = []
    for root in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = int((root / OWNER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not made by this module
        if _alive(owner):
            continue
        try:
            Cluster(root, bindir, 0).destroy()
        except ClusterError:
            shutil.rmtree(root, ignore_errors=True)  # its server was already gone
        removed.append(root)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """One cluster in `root` (data/, sock/, server.log), served on 127.0.0.1:`port`."""

    root: Path
    bindir: Path
    port: int

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def sockdir(self) -> Path:
        return self.root / "sock"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    @classmethod
    def create(cls) -> Cluster:
        """initdb a new cluster in a fresh temporary directory (not started yet).

        Clusters left behind by test runs that were killed (their owner process is gone) are
        stopped and removed first.
        """
        bindir = find_bindir()
        remove_abandoned(bindir)
        root = Path(tempfile.mkdtemp(prefix=PREFIX))
        (root / OWNER_FILE).write_text(str(os.getpid()), encoding="utf-8")
        cluster = cls(root, bindir, free_port())
        try:
            cluster.sockdir.mkdir()
            if os.geteuid() == 0:
                try:
                    pw = pwd.getpwnam(SERVER_USER)
                except KeyError as e:
                    raise ClusterError(
                        f"running as root, but there is no {SERVER_USER!r} user to run "
                        "PostgreSQL as (PostgreSQL refuses to run as root)"
                    ) from e
                for path in (root, cluster.sockdir):
                    os.chown(path, pw.pw_uid, pw.pw_gid)
            cluster._run(
                "initdb",
                "-D",
                str(cluster.datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
                "--no-instructions",
            )
            cluster._configure()
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return cluster

    def _configure(self) -> None:
        conf = self.datadir / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as f:
            f.write(
                "\n# sql-lsp live tests\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.sockdir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "shared_buffers = 32MB\nmax_connections = 60\n"
                "max_parallel_workers_per_gather = 0\n"
                "logging_collector = off\n"
            )
        hba = self.datadir / "pg_hba.conf"
        text = hba.read_text(encoding="utf-8")
        # members of PASSWORD_GROUP must log in with a password, over TCP and the socket
        password_rules = (
            f"local   all   +{PASSWORD_GROUP}                  scram-sha-256\n"
            f"host    all   +{PASSWORD_GROUP}   127.0.0.1/32   scram-sha-256\n"
            f"host    all   +{PASSWORD_GROUP}   ::1/128        scram-sha-256\n"
        )
        hba.write_text(password_rules + text, encoding="utf-8")

    def _run(self, tool: str, *args: str) -> str:
        cmd = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120
        )
        if proc.returncode != 0:
            log = ""
            if self.logfile.exists():
                log = "\n--- server log ---\n" + self.logfile.read_text(errors="replace")[-3000:]
            raise ClusterError(
                f"{tool} {' '.join(args)} failed ({proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}{log}"
            )
        return proc.stdout

    def start(self) -> None:
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-l", str(self.logfile), "-w", "-t", "60", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.datadir / "postmaster.pid").exists()

    def destroy(self) -> None:
        """Stop the server (if running) and remove the directory."""
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres", user: str = "postgres", password: str = "") -> str:
        """A TCP connection URL to this cluster."""
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{dbname}"
