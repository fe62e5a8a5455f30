"""Migration layouts: in which order a project's SQL files are applied to the catalog, and which
of them (and which parts of them) are not applied at all.

A whole-repository run must build the schema the project's migration tool would build, so:

- files are ordered naturally, path component by path component (`V2__x.sql` before
  `V10__x.sql`, `9_a.up.sql` before `10_b.up.sql`, timestamps and `2024-01-02-…` folders in
  time order);
- Flyway folders apply `V<version>__*.sql` in version order, then `R__*.sql` repeatables in name
  order; sqitch `deploy/` scripts follow `sqitch.plan` when there is one;
- rollback files are not applied: Flyway `U<version>__*.sql`, `*.down.sql` (golang-migrate),
  `down.sql` (diesel), `*_down.sql`, files under `down/` or `rollback/` folders, sqitch
  `revert/` (and `verify/`) scripts, and files without a version named `*rollback*` or
  `Drop*.sql`;
- rollback *sections* of a file are not applied: dbmate's `-- migrate:down`, goose's
  `-- +goose Down` and sql-migrate's `-- +migrate Down`, up to the next up marker
  (`down_sections`);
- `catalog.exclude` globs drop files from the catalog and `catalog.order` globs put files first,
  in the order of the list.

A rename in a new migration (`references.migration_rename`) names its file after the newest
migration of the folder (`new_migration`): the next number, the current time for a timestamp,
the next Flyway version, with the up/down file pair or sections the folder uses.

Every file is still checked: only what feeds the catalog is decided here. This module knows paths
and texts only; `project.py` applies the result.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

Chunk = tuple[int, int] | tuple[int, str]
Key = tuple  # a sort key made of (rank, chunks) components

_CHUNKS = re.compile(r"\d+|\D+")
_FLYWAY = re.compile(r"(?P<kind>[VUR])(?P<version>\d+(?:[._]\d+)*)?__(?P<rest>.*)\.sql\Z", re.I)
_DROP = re.compile(r"(?i:drop)(?![a-z])")
_DOWN_SUFFIXES = tuple(f"{sep}{word}.sql" for word in ("down", "rollback") for sep in "._-")
_ROLLBACK_DIRS = frozenset({"down", "downs", "rollback", "rollbacks"})
SECTION_MARKS = (
    "migrate:",
    "+goose",
    "+migrate",
)  # every rollback section marker holds one of these
_SECTION = re.compile(
    r"^[ \t]*--[ \t]*(?:migrate:(up|down)|\+(?:goose|migrate)[ \t]+(up|down))\b",
    re.IGNORECASE | re.MULTILINE,
)


def natural_key(name: str) -> tuple[Chunk, ...]:
    """Runs of digits compare as numbers, the rest case-insensitively: `a2` < `a10` < `B1`."""
    return tuple(
        (0, int(run)) if run[0].isdigit() else (1, run.casefold()) for run in _CHUNKS.findall(name)
    )


@dataclass(frozen=True)
class FilePlan:
    """What happens to one file: its place in the order, and whether it feeds the catalog."""

    path: PurePath
    applied: bool
    reason: str = ""  # why it is not applied ("rollback file", "excluded by catalog.exclude")


def down_sections(text: str) -> list[tuple[int, int]]:
    """The character ranges of a file's rollback sections: from a `-- migrate:down` (dbmate),
    `-- +goose Down` (goose) or `-- +migrate Down` (sql-migrate) line to the next up marker or
    the end of the text."""
    if not any(m in text for m in SECTION_MARKS):
        return []
    out: list[tuple[int, int]] = []
    down_from = -1
    for m in _SECTION.finditer(text):
        direction = (m.group(1) or m.group(2)).lower()
        if direction == "down" and down_from < 0:
            down_from = m.start()
        elif direction == "up" and down_from >= 0:
            out.append((down_from, m.start()))
            down_from = -1
    if down_from >= 0:
        out.append((down_from, len(text)))
    return out


def rollback_reason(parts: Sequence[str]) -> str:
    """Why a file (its path components below the project root) is a rollback file, or "".

    Down markers count for every file (`down.sql`, `*.down.sql`, `*_down.sql`,
    `*.rollback.sql`, Flyway `U1__`, a `down/` folder); the looser name patterns (`*rollback*`, `Drop*`) only for files without a
    version (a name starting with a digit, Flyway `V`/`R`) or an up marker: `0003_rollback_x.sql`
    and `V3__drop_legacy.sql` are forward migrations."""
    name = parts[-1]
    lower = name.lower()
    flyway = _FLYWAY.match(name)
    if flyway and flyway.group("kind") == "U" and flyway.group("version"):
        return "Flyway undo migration"
    if lower in ("down.sql", "rollback.sql") or lower.endswith(_DOWN_SUFFIXES):
        return "rollback file (down migration)"
    for folder in parts[:-1]:
        if folder.lower() in _ROLLBACK_DIRS:
            return f"rollback file (under {folder}/)"
    versioned = name[:1].isdigit() or (flyway is not None and flyway.group("kind") in "VR")
    if versioned or lower == "up.sql" or lower.endswith((".up.sql", "_up.sql", "-up.sql")):
        return ""
    if "rollback" in lower:
        return "rollback file (name contains rollback)"
    if _DROP.match(name):
        return "rollback file (Drop*.sql)"
    return ""


def _file_key(name: str) -> Key:
    flyway = _FLYWAY.match(name)
    if flyway and flyway.group("kind") == "V" and flyway.group("version"):
        version = tuple((0, int(v)) for v in re.split(r"[._]", flyway.group("version")))
        return (0, version)
    if flyway and flyway.group("kind") == "R" and not flyway.group("version"):
        return (1, natural_key(flyway.group("rest")))  # repeatables after the versioned ones
    return (0, natural_key(name))


def sqitch_plan_order(plan: str, deploy_files: Iterable[str]) -> dict[str, int]:
    """The position of each `deploy/` script (path relative to `deploy/`, without `.sql`) in a
    sqitch plan. A reworked change's earlier versions are the `name@tag` scripts (the first tag
    after that occurrence whose script exists); pragmas, tags and comments are skipped."""
    files = set(deploy_files)
    names: list[str] = []
    tags: list[tuple[int, str]] = []  # (how many changes come before it, tag)
    for raw in plan.splitlines():
        line = raw.strip()
        if not line or line[0] in "%#":
            continue
        if line[0] == "@":
            tags.append((len(names), line[1:].split()[0] if len(line) > 1 else ""))
            continue
        if line[0] == "-":  # a change reverted at this point of the plan
            continue
        words = line.lstrip("+").split()
        if words:
            names.append(words[0])
    last = {name: i for i, name in enumerate(names)}
    order: dict[str, int] = {}
    for i, name in enumerate(names):
        if last[name] == i:
            order.setdefault(name, i)
            continue
        for _, tag in tags[bisect_right(tags, (i, "\uffff")) :]:  # the tags after it
            if f"{name}@{tag}" in files:
                order.setdefault(f"{name}@{tag}", i)
                break
    return order


def _glob_regex(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (close := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1 : close]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = close + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


class Globs:
    """`catalog.exclude` / `catalog.order` patterns. A relative pattern is matched against the
    path below each root holding the file (one with `..` is made absolute from each root; an
    absolute one is matched against the absolute path); one without a `/` matches a file or
    folder name at any depth; a pattern matching a folder matches every file below it. `*` and
    `?` stay within a name, `**` crosses folders."""

    def __init__(self, patterns: Iterable[str], roots: Sequence[str] = ()) -> None:
        self.patterns: list[tuple[int, re.Pattern[str], bool]] = []  # (index, regex, absolute)
        self.literals: set[str] = set()  # the patterns that are plain paths
        for index, raw in enumerate(patterns):
            p = raw.strip()
            while p.startswith("./"):
                p = p[2:]
            p = p.rstrip("/") if p != "/" else p
            if not p:
                continue
            if not p.startswith("/") and ".." in p.split("/"):
                for root in roots:
                    self._add(index, posixpath.normpath(posixpath.join(root, p)))
                continue
            self._add(index, p)

    def _add(self, index: int, p: str) -> None:
        if not any(c in p for c in "*?["):
            self.literals.add(p)
        body = _glob_regex(p)
        if "/" not in p:
            body = "(?:.*/)?" + body  # a name at any depth
        self.patterns.append((index, re.compile(body + r"(?:/.*)?\Z"), p.startswith("/")))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def names(self, rels: Sequence[str], absolute: str) -> bool:
        """Whether a pattern is this very file's path (no wildcard, not one of its folders)."""
        return absolute in self.literals or any(rel in self.literals for rel in rels)

    def first_match(self, rels: Sequence[str], absolute: str) -> int:
        """The index of the first pattern matching the file or one of its folders, or -1.
        `rels` are the posix paths of the file below each root holding it."""
        for index, regex, is_absolute in self.patterns:
            if is_absolute or not rels:
                if regex.match(absolute):
                    return index
            elif any(regex.match(rel) for rel in rels):
                return index
        return -1


def _read_text(path: PurePath) -> str | None:
    """A small regular text file (sqitch.plan), or None; never opens a FIFO or a device."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > 5_000_000:
            return None
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def plan_files(
    paths: Sequence[PurePath],
    *,
    roots: Sequence[PurePath] = (),
    exclude: Iterable[str] = (),
    order: Iterable[str] = (),
    read: Callable[[PurePath], str | None] = _read_text,
) -> list[FilePlan]:
    """Every path, in the order the catalog applies them, each saying whether it is applied.

    `paths` are absolute; `roots` (project or workspace folders) anchor the relative globs and
    the folder names that mark rollback files (folders above a root do not count). `read` reads
    a `sqitch.plan` (None when there is none).
    """
    root_strs = sorted({r.as_posix().rstrip("/") + "/" for r in roots}, key=len, reverse=True)
    excluded = Globs(exclude, [r.rstrip("/") for r in root_strs])
    ordered = Globs(order, [r.rstrip("/") for r in root_strs])
    memo: dict[str, Key] = {}

    def component(name: str) -> Key:
        key = memo.get(name)
        if key is None:
            key = memo[name] = (0, natural_key(name))
        return key

    # sqitch projects: a folder whose deploy/ holds scripts and that has a plan or revert/verify
    deploy_tops: dict[tuple[str, ...], set[str]] = {}
    tops_with_siblings: set[tuple[str, ...]] = set()
    for p in paths:
        text = p.as_posix()
        if "/deploy/" not in text and "/revert/" not in text and "/verify/" not in text:
            continue
        parts = p.parts
        for k in range(len(parts) - 2, 0, -1):
            if parts[k] == "deploy":
                deploy_tops.setdefault(parts[:k], set()).add(
                    "/".join(parts[k + 1 :]).removesuffix(".sql")
                )
                break
        for k in range(len(parts) - 2, 0, -1):
            if parts[k] in ("revert", "verify"):
                tops_with_siblings.add(parts[:k])
                break
    sqitch: dict[tuple[str, ...], dict[str, int]] = {}
    for top, scripts in deploy_tops.items():
        plan = read(PurePath(*top, "sqitch.plan"))
        if plan is not None:
            sqitch[top] = sqitch_plan_order(plan, scripts)
        elif top in tops_with_siblings:
            sqitch[top] = {}

    def sqitch_place(parts: tuple[str, ...]) -> tuple[int, str, dict[str, int]] | None:
        """(index of deploy/revert/verify in the parts, that folder's name, the plan order)."""
        for k in range(len(parts) - 2, 0, -1):
            if parts[k] in ("deploy", "revert", "verify"):
                found = sqitch.get(parts[:k])
                if found is not None:
                    return k, parts[k], found
        return None

    plans: list[tuple[tuple, FilePlan]] = []
    for path in paths:
        absolute = path.as_posix()
        rels = [absolute[len(r) :] for r in root_strs if absolute.startswith(r)]
        rel = rels[0] if rels else None  # below the deepest root
        parts = path.parts
        where = sqitch_place(parts) if sqitch else None
        reason = ""
        if where is not None and where[1] != "deploy":
            reason = f"sqitch {where[1]} script"
        if not reason:
            reason = rollback_reason(rel.split("/") if rel else parts)
        if reason and ordered.names(rels, absolute):
            reason = ""  # named in catalog.order, path and all: the user says it is applied
        if excluded and excluded.first_match(rels, absolute) >= 0:
            reason = "excluded by catalog.exclude"
        if where is not None and where[1] == "deploy":
            k, _, positions = where
            index = positions.get("/".join(parts[k + 1 :]).removesuffix(".sql"))
            head = [component(c) for c in parts[: k + 1]]
            tail = (
                [(0, ((0, index),))]
                if index is not None
                else [(1, ()), *(component(c) for c in parts[k + 1 : -1]), _file_key(parts[-1])]
            )
            key = (*head, *tail)
        else:
            key = (*(component(c) for c in parts[:-1]), _file_key(parts[-1]))
        group = ordered.first_match(rels, absolute) if ordered else -1
        sort = ((0, group) if group >= 0 else (1, 0), key, absolute)
        plans.append((sort, FilePlan(path, not reason, reason)))
    plans.sort(key=lambda item: item[0])
    return [plan for _, plan in plans]


# -- a new migration ------------------------------------------------------------------------

_NUMBERED = re.compile(r"(?P<num>\d+)(?P<sep>[_\-.]?)(?P<rest>.*?)(?P<up>[._-]up)?\.sql\Z", re.I)
_TIMESTAMP_FORMATS = {8: "%Y%m%d", 10: "%Y%m%d%H", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
_SECTION_STYLES = (  # (marker found in a migration, its up line, its down line)
    ("migrate:up", "-- migrate:up", "-- migrate:down"),  # dbmate
    ("+goose up", "-- +goose Up", "-- +goose Down"),  # goose
    ("+migrate up", "-- +migrate Up", "-- +migrate Down"),  # sql-migrate
)


def is_migration_name(name: str) -> bool:
    """Does a file name follow a versioned migration convention: a number or timestamp first
    (`003_orders.sql`, `20240102030405_x.up.sql`) or Flyway's `V3__x.sql` / `U3__x.sql`?"""
    if not name.lower().endswith(".sql"):
        return False
    flyway = _FLYWAY.match(name)
    if flyway and flyway.group("kind") in "VUvu" and flyway.group("version"):
        return True
    return bool(_NUMBERED.match(name))


def newest_migration(names: Iterable[str]) -> str | None:
    """The migration applied last among `names` (file names of one folder), rollback files left
    out; None when none follows a versioned convention."""
    versioned = [n for n in names if is_migration_name(n) and not rollback_reason([n])]
    return max(versioned, key=lambda n: (_file_key(n), n)) if versioned else None


def slug(words: str) -> str:
    """A file-name description: lower case, runs of anything but letters and digits as `_`."""
    return re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_") or "migration"


def new_migration(
    names: Sequence[str], newest_text: str, description: str, up: str, down: str, now: datetime
) -> list[tuple[str, str]] | None:
    """The files (name, text) of a migration applied after every one of `names` (the file
    names of its folder), named in the convention of the newest of them: the next number with
    the same width (`009_x.sql` -> `010_<description>.sql`), the time `now` in the same format
    for a timestamp, the next Flyway version (`V1.2__x.sql` -> `V1.3__<description>.sql`).
    `up` is the SQL the migration runs; `down` undoes it and is written where the convention
    has a place for it: a `.down.sql` file next to a `.up.sql` one (golang-migrate), or the
    down section of dbmate, goose and sql-migrate files (when the newest file has section
    markers). None when the folder follows no convention known here."""
    newest = newest_migration(names)
    if newest is None:
        return None
    taken = {n.lower() for n in names}
    desc = slug(description)
    flyway = _FLYWAY.match(newest)
    if flyway and flyway.group("kind").upper() == "V" and flyway.group("version"):
        version = flyway.group("version")
        head, last = re.match(r"(.*?)(\d+)\Z", version).groups()
        bumped = f"{head}{int(last) + 1:0{len(last)}d}"
        files = [(f"{newest[0]}{bumped}__{desc}.sql", up)]
    else:
        m = _NUMBERED.match(newest)
        if m is None:
            return None
        num = m.group("num")
        fmt = _TIMESTAMP_FORMATS.get(len(num))
        if fmt and num[:2] in ("19", "20"):
            stamp = now.strftime(fmt)
            number = stamp if stamp > num else str(int(num) + 1)
        else:
            number = f"{int(num) + 1:0{len(num)}d}"
        sep = m.group("sep") if m.group("sep") in ("_", "-") else "_"
        stem = f"{number}{sep}{desc}"
        if m.group("up"):
            mark = m.group("up")[0]  # `.up.sql`, `_up.sql`, `-up.sql`
            files = [(f"{stem}{mark}up.sql", up), (f"{stem}{mark}down.sql", down)]
        else:
            files = [(f"{stem}.sql", up)]
    lowered = newest_text.lower()
    for marker, up_line, down_line in _SECTION_STYLES:
        if re.search(r"--[ \t]*" + re.escape(marker).replace(r"\ ", r"[ \t]+"), lowered):
            files = [(files[0][0], f"{up_line}\n{up}\n{down_line}\n{down}")]
            break
    if any(name.lower() in taken for name, _ in files):
        return None
    return files
