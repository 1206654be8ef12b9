"""The SQL of a Datasette search page (`/db/articles?_search=`), answered from the narrow facet table.

For one search Datasette runs a page query, a count and one query per facet, each repeating the MATCH and
reading every hit. We rewrite them where the filters use only columns the narrow table has (archive/searching/browse.py):

- page: the page's rowids are picked from the narrow table (it has every sort column and the url
  tie-breaker), and only those 50 rows are read from articles;
- count and facets: computed together in one pass over the hits (archive/searching/facets.py) when the request
  shows facets, kept for the request, and each facet query is answered from it; without facets
  (`_nofacet=1`) the count alone.

Results are the same rows as Datasette's own queries give (same WHERE on columns of the same values and
types, same ORDER BY); tests compare them. `GOVNEWS_SEARCH_SEPARATE_QUERIES=1` keeps the query path from
before (separate count and facet queries, the page sorted in articles) for bench/search.py's baseline.
"""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Awaitable, Callable

from datasette.database import QueryInterrupted, Results

from archive import search
from archive.attachments.index import DATASETTE_SEARCH
from archive.searching import facets as search_facets

# Per HTTP request: whether it shows facets, and the one-pass results computed for it.
REQUEST: contextvars.ContextVar[dict | None] = contextvars.ContextVar("govnews_search_request", default=None)
SEARCH_CLAUSE = f"rowid in {DATASETTE_SEARCH}"


def begin_request(query: dict[str, list[str]]) -> contextvars.Token:
    """Called by the plugin's ASGI wrapper for every HTTP request (query: its parsed query string)."""
    return REQUEST.set({"facets": not (query.get("_nofacet") or [""])[0], "passes": {}})


def separate_queries() -> bool:
    return os.environ.get("GOVNEWS_SEARCH_SEPARATE_QUERIES", "") == "1"


# -- which WHERE clauses the narrow table can answer ------------------------------------------------

_WORD = re.compile(r"""'(?:[^']|'')*'|[:@$?]\w*|"((?:[^"]|"")*)"|\[([^\]]*)\]|`([^`]*)`|([A-Za-z_][\w$]*)""")
_SQL_WORDS = {"and", "or", "not", "is", "null", "in", "like", "glob", "between", "escape", "desc", "asc",
              "collate", "nocase", "binary", "rtrim", "true", "false", "nulls", "first", "last"}


def only_narrow_names(sql: str, narrow: set[str]) -> bool:
    """Does this SQL text (a WHERE without its search, an ORDER BY) name no column but the narrow table's?"""
    for m in _WORD.finditer(sql):
        quoted = next((g for g in m.groups()[:3] if g is not None), None)
        if quoted is not None:
            name = quoted.lower()
        elif m.group(4) is not None:
            name = m.group(4).lower()
            if name in _SQL_WORDS:
                continue
        else:
            continue  # a string literal or a parameter
        if name not in narrow:
            return False
    return True


def narrow_source(where: str, narrow: set[str], order: str = "") -> str | None:
    """FROM-clause text reading this WHERE's hits from the narrow table, or None when it cannot: the WHERE
    holds no search, or it (or the ORDER BY) names a column the narrow table lacks, or the rowid (ambiguous
    in the join)."""
    if SEARCH_CLAUSE not in where or ";" in where:
        return None
    rest = where.replace(SEARCH_CLAUSE, "1", 1)
    if not only_narrow_names(rest, narrow) or not only_narrow_names(order, narrow):
        return None
    return search_facets.narrow_source(DATASETTE_SEARCH, rest)


# -- the statements -----------------------------------------------------------------------------------

_TABLE_PAGE = re.compile(r"^select (?P<cols>.+?) from articles (?P<where>where .+ )?order by (?P<order>[^()]+?) "
                         r"limit (?P<limit>\d+)$", re.S)
_COUNT = re.compile(r"^select count\(\*\) from articles where (?P<where>.+?)\s*$", re.S)
_FACET = re.compile(r"^\s*select (?P<col>\w+) as value, count\(\*\) as count from \(\s*select .+? from articles "
                    r"where (?P<where>.+?)\s*\)\s*where (?P=col) is not null\s*group by (?P=col) "
                    r"order by count desc, value limit (?P<limit>\d+)\s*$", re.S)


def page_rows_last(sql: str, narrow: set[str] = frozenset()) -> str:
    """A page of articles: pick the page's rowids first, then read those rows. Otherwise SQLite reads every
    matching row in full (bodies included) into its sorter to keep 50 of them. A search page sorted by narrow
    columns picks them from the narrow table."""
    m = _TABLE_PAGE.match(sql)
    if not m:
        return sql
    where, order, limit = m["where"] or "", m["order"], m["limit"]
    if narrow and (source := narrow_source(where[len("where "):], narrow, order)):
        inner = f"select id from {source} order by {order} limit {limit}"
    else:
        inner = f"select rowid from articles {where}order by {order} limit {limit}"
    return f"select {m['cols']} from articles where rowid in ({inner}) order by {order} limit {limit}"


# The query path before the one pass (GOVNEWS_SEARCH_SEPARATE_QUERIES=1): a count or a facet of a plain search
# from the narrow table as it was (facet columns only, without quality), each its own query.
LEGACY_NARROW = {"site", "issuer", "year", "month", "section", "gone"}
_LEGACY_COUNT = re.compile(rf"^select count\(\*\) from articles where {re.escape(SEARCH_CLAUSE)}\s*$", re.S)


def legacy_search_sql(sql: str) -> str:
    if _LEGACY_COUNT.match(sql):
        return f"select count(*) from {search.FACET_TABLE} where id in {DATASETTE_SEARCH}"
    m = _FACET.match(sql)
    if m and m["col"] in LEGACY_NARROW and m["where"] == SEARCH_CLAUSE:
        return _legacy_facet_sql(m["col"], m["where"], m["limit"])
    return sql


def _legacy_facet_sql(col: str, where: str, limit: str) -> str:
    return (f"select {col} as value, count(*) as count from (select {col} from {search.FACET_TABLE} where {where}) "
            f"where {col} is not null group by {col} order by count desc, value limit {limit}")


Execute = Callable[..., Awaitable[Results]]


class SearchSQL:
    """The execute() of one archive's Datasette database, with the search statements rewritten."""

    def __init__(self, execute: Execute, narrow: set[str], widen: Callable[[str], str] = str) -> None:
        self._execute, self.narrow, self.widen = execute, narrow, widen
        self.facets = [f for f in search_facets.SEARCH_FACETS if f in narrow]

    async def __call__(self, sql: str, params=None, **kwargs) -> Results:
        if separate_queries():
            return await self._execute(self.widen(legacy_search_sql(page_rows_last(sql))), params, **kwargs)
        sql = page_rows_last(sql, self.narrow)
        if (m := _COUNT.match(sql)) and (source := narrow_source(m["where"], self.narrow)):
            return await self.count(m["where"], source, params, **kwargs)
        if (m := _FACET.match(sql)) and m["col"] in self.narrow and (source := narrow_source(m["where"], self.narrow)):
            return await self.facet(m["col"], source, int(m["limit"]), params, **kwargs)
        return await self._execute(self.widen(sql), params, **kwargs)

    async def count(self, where: str, source: str, params, **kwargs) -> Results:
        request = REQUEST.get()
        if request and request["facets"] and self.facets:
            found = await self.one_pass(request, source, params, kwargs.get("custom_time_limit"))
            if found is not None:
                return Results([(found[0],)], False, (("count(*)",) + (None,) * 6,))
        if where == SEARCH_CLAUSE:  # the hits themselves, without reading a row for each
            return await self._execute(self.widen(f"select count(*) from {DATASETTE_SEARCH}"), params, **kwargs)
        return await self._execute(self.widen(f"select count(*) from {source}"), params, **kwargs)

    async def facet(self, col: str, source: str, limit: int, params, **kwargs) -> Results:
        request = REQUEST.get()
        if request and col in self.facets:
            found = await self.one_pass(request, source, params, kwargs.get("custom_time_limit"))
            if found is None:  # the one pass ran out of time: so would this facet alone (Datasette says so)
                raise QueryInterrupted(None, search_facets.one_pass_sql(source, self.facets), params)
            rows = [{"value": v, "count": n} for v, n in found[1].get(col, [])[:limit]]
            return Results(rows, False, (("value",) + (None,) * 6, ("count",) + (None,) * 6))
        sql = (f"select {col} as value, count(*) as count from {source} and {col} is not null "
               f"group by {col} order by count desc, value limit {limit}")
        return await self._execute(self.widen(sql), params, **kwargs)

    async def one_pass(self, request: dict, source: str, params, time_limit: int | None):
        """(total, facets) of the hits of source, computed once per request; None if it ran out of time."""
        key = (source, tuple(sorted((k, repr(v)) for k, v in (params or {}).items())))
        if key not in request["passes"]:
            sql = self.widen(search_facets.one_pass_sql(source, self.facets))
            try:
                results = await self._execute(sql, params, custom_time_limit=time_limit)
                request["passes"][key] = search_facets.split(tuple(r) for r in results.rows)
            except QueryInterrupted:
                # The count then runs on its own; the facets are reported timed out, not tried one by one
                # (each would read the same hits again: 1-character searches took 13 s at 500,000 articles).
                request["passes"][key] = None
        return request["passes"][key]
