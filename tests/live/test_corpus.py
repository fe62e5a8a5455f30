"""Public schemas against PostgreSQL itself: what it accepts, and what its catalog holds.

Each schema is loaded into a fresh database of the suite's PostgreSQL with `psql -f`; the
offline catalog built from the same file (minus the statements PostgreSQL 15 rejected, which use
newer grammar) must equal `pg_catalog`: relations, columns with their types in order, indexes
and foreign keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_support import CORPUS, catalog_shape, load, offline_catalog, pg_shape, recreate
from live_support import LiveServer, url_with

# (corpus folder, schema files in the order they are loaded, database the files end up in)
SCHEMAS = [
    ("pagila", ["pagila-schema.sql"], None),
    ("danbooru", ["db/structure.sql"], None),
    ("osm", ["db/structure.sql"], None),
    ("northwind", ["northwind.sql"], None),
    ("chinook_pg", ["ChinookDatabase/DataSources/Chinook_PostgreSql.sql"], "chinook"),
    ("ddl_forms", ["ddl_forms.sql"], None),  # ours: every DDL form, tests/live/corpus
]
HERE = Path(__file__).parent / "corpus"


# what each schema holds at least (the comparison below is not vacuous)
MINIMUM = {
    "pagila": (12, 17),  # PostgreSQL 15 lacks uuidv7(), VIRTUAL and pgvector
    "danbooru": (68, 456),
    "osm": (56, 152),
    "northwind": (14, 14),
    "chinook_pg": (11, 22),
    "ddl_forms": (19, 0),
}


# (unindexed foreign keys, redundant indexes) that pg_catalog shows for each schema
FINDINGS = {
    "pagila": (4, 0),
    "danbooru": (18, 28),
    "osm": (13, 0),
    "northwind": (10, 0),
    "chinook_pg": (0, 1),
    "ddl_forms": (4, 3),
}


@pytest.fixture(scope="module", params=SCHEMAS, ids=[s[0] for s in SCHEMAS])
def loaded(request, live_pg: LiveServer):
    name, files, target = request.param
    paths = [(HERE if name == "ddl_forms" else CORPUS / name) / f for f in files]
    url = recreate(live_pg.admin_url, f"corpus_{name}")
    result = load(url, paths)
    inspect = url_with(live_pg.admin_url, dbname=target) if target else url
    return name, paths, result, inspect


def test_catalog_equals_pg_catalog(loaded) -> None:
    name, paths, result, url = loaded
    truth = pg_shape(url)
    ours = catalog_shape(offline_catalog(paths, result))
    assert len(truth.tables) >= MINIMUM[name][0] and len(truth.indexes) >= MINIMUM[name][1]
    assert sorted(ours.tables ^ truth.tables) == []
    # a column type the offline catalog cannot know (CREATE TABLE AS) compares by name only
    expected = {
        k: [
            (n, t if o is not None else None)
            for (n, t), (_, o) in zip(v, ours.columns[k], strict=False)
        ]
        if len(v) == len(ours.columns[k])
        else v
        for k, v in truth.columns.items()
        if k in ours.columns
    }
    assert {k: v for k, v in ours.columns.items() if k in truth.columns} == expected
    # every relation's columns are known, except views over what cannot be told
    unknown = truth.tables - set(ours.columns)
    assert all(k in truth.tables for k in unknown)
    assert sorted(ours.indexes - truth.indexes) == []
    assert sorted(truth.indexes - ours.indexes) == []
    assert sorted(ours.foreign_keys ^ truth.foreign_keys) == []


def test_syntax_errors_are_exactly_what_postgres_18_rejects() -> None:
    """Every .sql file of the corpus: only the statements PostgreSQL 18's grammar rejects (SQL/PGQ
    property graphs and FOR PORTION OF are newer than PostgreSQL 18)."""
    from sql_lsp.document import Document
    from sql_lsp.project import uri_of

    found = []
    for path in sorted(CORPUS.rglob("*.sql")):
        doc = Document(uri_of(path), path.read_text(encoding="utf-8"))
        for s in doc.statements:
            if s.kind == "sql" and s.error is not None:
                line = doc.text.count("\n", 0, s.start + s.error.start) + 1
                found.append((str(path.relative_to(CORPUS)), line, s.error.message))
    assert found == [
        ("pagila/pagila-sql-pgq-setup.sql", 14, 'syntax error at or near "PROPERTY"'),
        ("pagila/pagila-temporal-setup.sql", 71, 'syntax error at or near "FOR"'),
        ("pagila/pagila-temporal-setup.sql", 79, 'syntax error at or near "FOR"'),
    ]


def _findings(paths: list[Path], result) -> list:
    from corpus_support import without_lines

    from sql_lsp.project import Project, uri_of

    project = Project()
    uris = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        rejected = {line for line, _ in result.errors.get(path, [])}
        project.set_file(uri_of(path), without_lines(text, rejected) if rejected else text)
        uris.append(uri_of(path))
    out = []
    for uri in uris:
        out.extend(project.lint(uri))
    return out, project.catalog.tables


def _split_name(name: str, tables) -> tuple[str, str]:
    """(schema, table) of a name in a message: unqualified when it is on the search_path, where
    the schema is the one schema holding a table of that name."""
    schema, _, table = name.rpartition(".")
    table = table.strip('"')
    if not schema:
        (schema,) = {s for s, t in tables if t == table}
    return schema.strip('"'), table


def test_index_findings_equal_what_pg_catalog_says(loaded) -> None:
    import re

    from corpus_support import pg_redundant_indexes, pg_unindexed_foreign_keys

    name, paths, result, url = loaded
    findings, tables = _findings(paths, result)
    unindexed = set()
    redundant = set()
    for f in findings:
        if f.rule == "missing-fk-index":
            m = re.search(r"has no index on (\S+) \(([^)]*)\):", f.message)
            assert m, f.message
            schema, table = _split_name(m.group(1), tables)
            unindexed.add((schema, table, tuple(c.strip('" ') for c in m.group(2).split(","))))
        elif f.rule == "redundant-index":
            m = re.match(r"index (\S+) on (\S+) \(", f.message)
            assert m, f.message
            schema, table = _split_name(m.group(2), tables)
            redundant.add((schema, table, m.group(1).strip('"')))
    truth = pg_unindexed_foreign_keys(url)
    assert (sorted(unindexed - truth), sorted(truth - unindexed)) == ([], [])
    assert sorted(redundant ^ pg_redundant_indexes(url)) == []
    assert (len(unindexed), len(redundant)) == FINDINGS[name]  # not vacuous
