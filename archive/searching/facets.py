"""The count and the facets of a search in one pass over its hits.

Counting a search and its six or seven facets as separate queries repeats the full-text MATCH and reads
every hit's facet row once per query. Here the hits' narrow rows (archive/searching/browse.py) are read once into a
materialized CTE, and the count and every facet are grouped from it in the same statement:

    WITH hits AS MATERIALIZED (SELECT site, section, ... FROM <the hits> JOIN article_facets ...)
    SELECT NULL, NULL, count(*) FROM hits
    UNION ALL SELECT 'site', site, count(*) FROM hits WHERE site IS NOT NULL GROUP BY site  ...

The rows come out ordered as Datasette orders a facet (count descending, then value, SQLite's own order),
so each facet's answer is exactly what its own query gave. `govnews search --facets` and the Datasette
plugin's search pages (archive/datasette_plugin/searchsql.py) both use it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from archive import search
from archive.searching.browse import SEARCH_FACETS

Facets = dict[str, list[tuple[object, int]]]


def narrow_source(hits: str, where: str = "1") -> str:
    """FROM-clause text: the narrow rows of the hits (`hits`: a parenthesised SELECT of article rowids),
    filtered by `where` on the narrow table's columns. A join in the hits' order rather than
    `id IN (hits)`: SQLite then neither builds nor probes a b-tree of the rowids."""
    return (f"(SELECT rowid AS hit FROM {hits}) AS found CROSS JOIN {search.FACET_TABLE} "
            f"ON {search.FACET_TABLE}.id = found.hit WHERE {where}")


def one_pass_sql(source: str, facets: Sequence[str]) -> str:
    """One statement: rows (facet, value, count), first (NULL, NULL, total), then each facet's groups in
    Datasette's order. `source`: FROM-clause text of the hits' narrow rows (narrow_source())."""
    parts = ["SELECT NULL AS facet, NULL AS value, count(*) AS count FROM hits"]
    parts += [f"SELECT '{f}', {f}, count(*) FROM hits WHERE {f} IS NOT NULL GROUP BY {f}" for f in facets]
    cols = ", ".join(facets) or "hit"
    return (f"WITH hits AS MATERIALIZED (SELECT {cols} FROM {source}) "
            f"SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY facet, count DESC, value")


def split(rows: Iterable[Sequence]) -> tuple[int, Facets]:
    """The total and {facet: [(value, count), ...]} from the rows of one_pass_sql()."""
    total, facets = 0, {}
    for facet, value, count in rows:
        if facet is None:
            total = count
        else:
            facets.setdefault(facet, []).append((value, count))
    return total, facets


def narrow_facets(conn: sqlite3.Connection) -> list[str]:
    """The search facets this archive's narrow table has (an older archive may lack some)."""
    have = {r[1] for r in conn.execute("SELECT * FROM pragma_table_info(?)", [search.FACET_TABLE])}
    return [f for f in SEARCH_FACETS if f in have]


def count_and_facets(conn: sqlite3.Connection, query: str) -> tuple[int, Facets]:
    """How many articles match a search-box query in all, and the facet counts of those articles.

    The same hits as archive.search.search() (attachment text included where the archive has its index)."""
    from archive.attachments import index as attachments

    search.register_functions(conn)
    hits = attachments.DATASETTE_WIDER if attachments.indexed(conn) else attachments.DATASETTE_SEARCH
    source = narrow_source(hits.replace("escape_fts(:search)", "govnews_match(:query)"))
    names = narrow_facets(conn)
    total, facets = split(conn.execute(one_pass_sql(source, names), {"query": query}))
    return total, {f: facets[f] for f in names if f in facets}
