"""Browsing a big archive: the facet columns of articles, their indexes, and the narrow facet table.

year, month, section and gone are plain columns of articles derived from published, sections and gone_at,
kept by triggers (any writer keeps them right). Not generated columns: SQLite 3.40 never uses an index on a
virtual generated column as a covering index, so each facet read every row (~1 s at a million).
Each facet column is indexed with published, so a facet filter sorted newest first is one index walk.

``article_facets`` holds the facet values again, and the columns the articles page sorts by, in a narrow
table keyed by the articles rowid: counting the facets of ~10,000 search hits, or picking the newest 50 of
them, reads 10,000 rows of ~130 bytes, not of the 1.5 KB of an article row. Its columns have the articles'
declared types, so a filter compares exactly as it does on articles (``year > 2020`` with an integer
parameter). The Datasette plugin and ``govnews search`` point the count, facets and sort of a search at it
(archive/searching/facets.py).
"""

from __future__ import annotations

import sqlite_utils

from archive.search import FACET_TABLE, _transaction

FACET_COLUMNS = {
    # name: (type, expression over a row alias, the column it is derived from)
    "year": ("TEXT", "substr({r}.published, 1, 4)", "published"),
    "month": ("TEXT", "substr({r}.published, 1, 7)", "published"),
    "section": ("TEXT", "CASE WHEN json_valid({r}.sections) THEN json_extract({r}.sections, '$[0]') END", "sections"),
    "gone": ("INTEGER", "{r}.gone_at IS NOT NULL", "gone_at"),
}
FACET_INDEXES = (["site", "published"], ["issuer", "published"], ["year", "published"],
                 ["month", "published"], ["section", "published"], ["gone", "gone_at"])
SORT_INDEXES = (["published"], ["fetched_at"], ["gone_at"], ["version"], ["first_seen"])

# Columns of articles copied as they are into the narrow table: facets first, then what the articles page
# sorts by (url is every sort's tie-breaker).
NARROW_SOURCES = ("site", "issuer", "quality")
NARROW_SORTS = ("url", "published", "fetched_at", "gone_at", "version")
# The facets a search counts in one pass over its hits, in the order Datasette shows them.
SEARCH_FACETS = ("site", "section", "year", "month", "issuer", "gone", "quality")


def narrow_columns(have: dict) -> list[str]:
    """The narrow table's columns (without id) for an articles table with these columns."""
    facets = [n for n, f in FACET_COLUMNS.items() if f[2] in have]
    return [*(c for c in NARROW_SOURCES if c in have), *facets, *(c for c in NARROW_SORTS if c in have)]


def _derive_sets(facets: dict[str, tuple], alias: str) -> str:
    return ", ".join(f"{name} = {expr.format(r=alias)}" for name, (_, expr, _) in facets.items())


TRIGGER_NAMES = ("articles_facets_ai", "articles_facets_derive_ai", "articles_facets_au", "articles_facets_copy_au",
                 "articles_facets_ad")


def _stale(facets: dict[str, tuple]) -> str:
    """WHEN clause: a derived column of the new row is not what it derives from (a writer that gives the
    values in its INSERT, computed alike, spares the row a second write)."""
    return " OR ".join(f"new.{name} IS NOT ({expr.format(r='new')})" for name, (_, expr, _) in facets.items())


def _facet_triggers(facets: dict[str, tuple], cols: list[str]) -> dict[str, str]:
    sets = _derive_sets(facets, "new")
    derived_from = ", ".join(sorted({src for _, _, src in facets.values()}))
    copied_from = ", ".join(sorted({src for _, _, src in facets.values()} | (set(cols) - set(facets))))
    names = ", ".join(cols)
    # The narrow row from new.* (derived values by the same expressions), so it does not depend on the order
    # in which SQLite runs the two UPDATE triggers; a change of fetched_at alone rewrites only the narrow row.
    values = ", ".join(facets[c][1].format(r="new") if c in facets else f"new.{c}" for c in cols)
    update = f"  UPDATE articles SET {sets} WHERE rowid = new.rowid;\n" if sets else ""
    copy = f"  INSERT OR REPLACE INTO {FACET_TABLE}(id, {names}) VALUES (new.rowid, {values});\n"
    when = f" WHEN {_stale(facets)}" if sets else ""
    triggers = {
        "articles_facets_ai": f"CREATE TRIGGER articles_facets_ai AFTER INSERT ON articles BEGIN\n{copy}END",
        "articles_facets_copy_au": f"CREATE TRIGGER articles_facets_copy_au AFTER UPDATE OF {copied_from} ON articles "
                                   f"BEGIN\n{copy}END",
        "articles_facets_ad": f"CREATE TRIGGER articles_facets_ad AFTER DELETE ON articles BEGIN\n"
                              f"  DELETE FROM {FACET_TABLE} WHERE id = old.rowid;\nEND",
    }
    if sets:
        triggers["articles_facets_derive_ai"] = (f"CREATE TRIGGER articles_facets_derive_ai AFTER INSERT ON articles"
                                                 f"{when} BEGIN\n{update}END")
        triggers["articles_facets_au"] = (f"CREATE TRIGGER articles_facets_au AFTER UPDATE OF {derived_from} ON articles"
                                          f"{when} BEGIN\n{update}END")
    return triggers


def _add_facet_columns(db: sqlite_utils.Database, info: dict) -> tuple[dict, bool]:
    """The facet columns articles can have; adds the missing ones. (facets, whether any was added)."""
    indexes = {r[0]: r[1] for r in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                              "AND tbl_name = 'articles'")}
    facets = {n: f for n, f in FACET_COLUMNS.items() if f[2] in info}
    added = False
    for name, (typ, _, _) in facets.items():
        if info.get(name, (0,))[0] in (2, 3):  # a generated column from an earlier version of this code
            for trigger in TRIGGER_NAMES:  # they name the column; made again afterwards
                db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            for idx, sql in indexes.items():
                if sql and name in [c.strip() for c in sql.split("(", 1)[1].rstrip(")").split(",")]:
                    db.execute(f"DROP INDEX {idx}")
            db.execute(f"ALTER TABLE articles DROP COLUMN {name}")
            info.pop(name)
        if name not in info:
            db.execute(f"ALTER TABLE articles ADD COLUMN {name} {typ}")
            info[name] = (0, typ)
            added = True
    return facets, added


def narrow_table_sql(cols: list[str], info: dict) -> str:
    """CREATE TABLE of the narrow table: each column with its declared type in articles."""
    return (f"CREATE TABLE {FACET_TABLE} (id INTEGER PRIMARY KEY, "
            + ", ".join(f"{c} {info[c][1]}".rstrip() for c in cols) + ")")


def ensure_browse_schema(db: sqlite_utils.Database) -> None:
    """Add the facet columns, the narrow table, their triggers, and the facet and sort indexes, where missing.

    Additive: an archive made before a column existed gets it, derived from the rows it has; a narrow table
    of another layout is made again from articles (a few seconds at a million articles)."""
    if "articles" not in db.table_names():
        return
    with _transaction(db.conn):
        info = {r[1]: (r[6], r[2]) for r in db.execute("PRAGMA table_xinfo(articles)")}  # name -> (hidden, type)
        facets, rederive = _add_facet_columns(db, info)
        cols = narrow_columns(info)
        have_sql = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", [FACET_TABLE]).fetchone()
        recopy = False
        if have_sql is None or have_sql[0] != narrow_table_sql(cols, info):
            db.execute(f"DROP TABLE IF EXISTS {FACET_TABLE}")
            db.execute(narrow_table_sql(cols, info))
            recopy = True
        elif db.execute(f"SELECT count(*), max(id) FROM {FACET_TABLE}").fetchone() != \
                db.execute("SELECT count(*), max(rowid) FROM articles").fetchone():
            recopy = True
        have = {r[0]: r[1] for r in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")}
        # No trigger derived the values this way yet (a new archive, or another derivation): derive every row.
        sets = _derive_sets(facets, "new")
        rederive |= bool(facets) and not any(sets in (sql or "") for sql in have.values())
        for name, sql in _facet_triggers(facets, cols).items():
            if have.get(name) != sql:
                db.execute(f"DROP TRIGGER IF EXISTS {name}")
                db.execute(sql)
                recopy = True
        if rederive:
            db.execute(f"UPDATE articles SET {_derive_sets(facets, 'articles')}")
        if recopy or rederive:
            names = ", ".join(cols)
            db.execute(f"DELETE FROM {FACET_TABLE}")
            db.execute(f"INSERT INTO {FACET_TABLE}(id, {names}) SELECT rowid, {names} FROM articles")
        have = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        for idx in FACET_INDEXES + SORT_INDEXES:
            name = "idx_articles_" + "_".join(idx)
            if all(c in info for c in idx) and name not in have:
                db.execute(f"CREATE INDEX {name} ON articles({', '.join(idx)})")
