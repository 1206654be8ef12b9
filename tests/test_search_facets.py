"""A search's count and facets in one pass, and its page from the narrow table: the same answers as the
separate queries that each repeat the MATCH (on the crawled fixture archive), and the narrow table migrated
on an archive from before."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner
from datasette.app import Datasette

from archive import search
from archive.datasette_plugin import searchsql
from archive.searching import browse
from archive.searching import facets as search_facets
from archive.serve import SETTINGS
from archive.store import Archive
from crawler.cli import cli
from tests.test_datasette_search import FIXED_QUERIES, sampled_queries
from tests.test_search import record, reference

NARROW = ", ".join(browse.narrow_columns({c: None for c in (*browse.NARROW_SOURCES, *browse.NARROW_SORTS,
                                                              "published", "sections", "gone_at")}))


@pytest.fixture(scope="module")
def archive_copy(fixture_archive, tmp_path_factory) -> Path:
    """The crawled fixture archive, with some articles taken down, other quality flags and issuers."""
    db = tmp_path_factory.mktemp("facets") / "archive.db"
    shutil.copy(fixture_archive, db)
    with Archive(db) as archive:
        archive.db.execute("UPDATE articles SET gone_at = '2025-06-01T00:00:00+00:00' WHERE rowid % 4 = 0")
        archive.db.execute("UPDATE articles SET quality = 'no_date' WHERE rowid % 5 = 0")
        archive.db.execute("UPDATE articles SET issuer = '市政府办公室' WHERE rowid % 3 = 0")
    return db


def separate(conn: sqlite3.Connection, query: str, facet: str) -> list[tuple]:
    """One facet of a search as its own query on the articles table (the way Datasette asked before)."""
    return [tuple(r) for r in conn.execute(
        f"SELECT {facet}, count(*) FROM articles WHERE rowid IN (SELECT rowid FROM {search.FTS_TABLE} WHERE "
        f"{search.FTS_TABLE} MATCH govnews_match(?)) AND {facet} IS NOT NULL GROUP BY {facet} "
        f"ORDER BY count(*) DESC, {facet}", [query])]


def test_one_pass_equals_separate_queries_and_the_instr_scan(archive_copy):
    conn = sqlite3.connect(archive_copy)
    search.register_functions(conn)
    queries = FIXED_QUERIES + sampled_queries(archive_copy)
    facets_seen = set()
    for q in queries:
        total, facets = search_facets.count_and_facets(conn, q)
        assert total == len(reference(conn, q)) == search.count_matches(conn, q), q
        for f in browse.SEARCH_FACETS:
            assert facets.get(f, []) == separate(conn, q, f), (q, f)
            facets_seen |= {f} if len(facets.get(f, [])) > 1 else set()
    # Not vacuous: every facet had several values for some query.
    assert facets_seen == set(browse.SEARCH_FACETS)


async def _page(ds: Datasette, url: str, separate_queries: bool) -> tuple[dict, list[str]]:
    os.environ["GOVNEWS_SEARCH_SEPARATE_QUERIES"] = "1" if separate_queries else ""
    try:
        r = await ds.client.get(url + "&_trace=1")
    finally:
        os.environ.pop("GOVNEWS_SEARCH_SEPARATE_QUERIES", None)
    assert r.status_code == 200, (url, r.text[:500])
    data = r.json()
    sqls = [t["sql"] for t in data.pop("_trace")["traces"] if "sql" in t]
    keep = {k: data.get(k) for k in ("filtered_table_rows_count", "rows", "next", "facets_timed_out")}
    keep["facets"] = {k: [(v["value"], v["count"]) for v in f["results"]] for k, f in data["facet_results"].items()}
    return keep, sqls


def datasette_pages(db: Path, urls: list[str]) -> list[tuple[dict, dict, list[str], list[str]]]:
    """For each URL (DB stands for the database): (one-pass JSON, separate-queries JSON, their SQL)."""
    async def run():
        ds = Datasette([str(db)], settings={**SETTINGS, "suggest_facets": False, "trace_debug": True})
        await ds.invoke_startup()
        out = []
        for url in urls:
            url = url.replace("DB", db.stem)
            (fast, fast_sql), (slow, slow_sql) = await _page(ds, url, False), await _page(ds, url, True)
            out.append((fast, slow, fast_sql, slow_sql))
        return out
    return asyncio.run(run())


def matches(sqls: list[str]) -> int:
    """How many of these statements search the articles' index."""
    return sum(f"{search.FTS_TABLE} match escape_fts(:search)" in s for s in sqls)


def test_datasette_search_pages_same_as_separate_queries(archive_copy):
    conn = sqlite3.connect(archive_copy)
    search.register_functions(conn)
    q = urllib.parse.quote
    base = "/DB/articles.json?_shape=objects&_col=url&_search="
    (first, *_), = datasette_pages(archive_copy, [base + q("政协")])
    urls = [base + q(w) for w in ("政协", "党", "2024年", "GDP", "会议 经济", "量子纠缠")] + [
        base + q("市") + "&site=" + q(conn.execute("SELECT site FROM articles LIMIT 1").fetchone()[0]),
        base + q("市") + "&_sort=fetched_at", base + q("市") + "&_sort_desc=version&year__gt=2020",
        base + q("政协") + "&_next=" + q(first["next"]), base + q("市") + "&_nofacet=1",
        base + q("市") + "&_facet=published&_facet_size=3", base + q("市") + "&title__contains=" + q("会"),
        base + q("市") + "&_where=" + q("rowid > 5"), base + q("市") + "&gone=1&_sort=gone_at",
    ]
    results = datasette_pages(archive_copy, urls)
    for url, (fast, slow, _, _) in zip(urls, results, strict=True):
        assert fast == slow, url
        assert not fast["facets_timed_out"], url
    # The plain searches agree with the articles themselves, and ran the MATCH twice (page; count and every
    # facet in one pass), not once per query.
    for word, (fast, _, fast_sql, slow_sql) in zip(("政协", "党", "2024年", "GDP"), results, strict=False):
        assert fast["filtered_table_rows_count"] == len(reference(conn, word)) > 0
        assert fast["facets"]["site"] == separate(conn, word, "site")
        assert matches(fast_sql) == 2 and matches(slow_sql) >= 9, fast_sql
        assert any(f"select id from (select rowid as hit from (select rowid from {search.FTS_TABLE}" in s.lower()
                   and "order by published desc, url limit" in s for s in fast_sql), fast_sql  # the page: narrow
    # A filter on a column only articles has is left to Datasette's own queries.
    _, _, fast_sql, _ = results[urls.index(base + q("市") + "&title__contains=" + q("会"))]
    assert not any(search.FACET_TABLE in s for s in fast_sql)


def test_narrow_source_only_for_narrow_columns():
    narrow = set(browse.narrow_columns({c: None for c in ("site", "issuer", "quality", "url", "published",
                                                           "fetched_at", "gone_at", "version", "sections")}))
    s = searchsql.SEARCH_CLAUSE
    assert searchsql.narrow_source(f'"site" = :p0 and {s}', narrow, "published desc, url")
    assert searchsql.narrow_source(f"{s} and (version < :p3 or version is null)", narrow, "[version] desc, url")
    assert searchsql.narrow_source('"site" = :p0', narrow) is None  # no search
    assert searchsql.narrow_source(f'"title" like :p0 and {s}', narrow) is None
    assert searchsql.narrow_source(f"{s} and rowid > 5", narrow) is None
    assert searchsql.narrow_source(f":p0 in (select value from json_each(articles.sections)) and {s}", narrow) is None
    assert searchsql.narrow_source(s, narrow, "body") is None


OLD_TRIGGERS = {  # the narrow table's triggers before it had the sort columns (the archive's previous layout)
    "articles_facets_ai": "CREATE TRIGGER articles_facets_ai AFTER INSERT ON articles BEGIN\n{update}{copy}END",
    "articles_facets_au": "CREATE TRIGGER articles_facets_au AFTER UPDATE OF gone_at, issuer, published, sections, "
                          "site ON articles BEGIN\n{update}{copy}END",
}


def make_old_layout(path: Path) -> None:
    conn = sqlite3.connect(path)
    search.register_functions(conn)
    cols = "site, issuer, year, month, section, gone"
    update = f"  UPDATE articles SET {browse._derive_sets(browse.FACET_COLUMNS, 'new')} WHERE rowid = new.rowid;\n"
    copy = (f"  INSERT OR REPLACE INTO article_facets(id, {cols}) SELECT rowid, {cols} FROM articles "
            "WHERE rowid = new.rowid;\n")
    for name in ("articles_facets_ai", "articles_facets_derive_ai", "articles_facets_au", "articles_facets_copy_au"):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute("DROP TABLE article_facets")
    conn.execute(f"CREATE TABLE article_facets (id INTEGER PRIMARY KEY, {cols})")
    conn.execute(f"INSERT INTO article_facets SELECT rowid, {cols} FROM articles")
    for sql in OLD_TRIGGERS.values():
        conn.execute(sql.format(update=update, copy=copy))
    conn.commit()
    conn.close()


def same_as_articles(conn: sqlite3.Connection) -> bool:
    return (list(conn.execute(f"SELECT rowid, {NARROW} FROM articles ORDER BY rowid"))
            == list(conn.execute(f"SELECT id, {NARROW} FROM {search.FACET_TABLE} ORDER BY id")))


def test_an_archive_from_before_gets_the_wider_narrow_table(tmp_path):
    path = tmp_path / "old.db"
    with Archive(path) as archive:
        for i in range(30):
            archive.save_article(record(f"u{i}", f"标题{i}", "正文政协", published=f"20{10 + i % 15}-03-05",
                                        sections='["要闻"]', issuer="市政府" if i % 2 else None, quality="ok"))
    make_old_layout(path)
    with Archive(path) as archive:
        conn = archive.db.conn
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", [search.FACET_TABLE]).fetchone()[0]
        assert "published TEXT" in sql and "url TEXT" in sql and "version INTEGER" in sql and "quality TEXT" in sql
        assert same_as_articles(conn)
        triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert {"articles_facets_ai", "articles_facets_derive_ai", "articles_facets_au", "articles_facets_copy_au",
                "articles_facets_ad"} <= triggers
        # Every writer keeps it right from now on: a re-fetch, a new date, a take-down, a delete, an insert.
        conn.execute("UPDATE articles SET fetched_at = '2026-01-01', version = 2 WHERE rowid % 2 = 0")
        conn.execute("UPDATE articles SET published = '2001-01-01', quality = 'no_date' WHERE rowid % 3 = 0")
        conn.execute("UPDATE articles SET gone_at = '2026-02-01' WHERE rowid % 5 = 0")
        conn.execute("DELETE FROM articles WHERE rowid % 7 = 0")
        archive.save_article(record("new", "新标题", "正文", published="2026-05-01"))
        # A writer that gives the derived values itself (right or wrong) ends with them right.
        conn.execute("INSERT INTO articles (url, site, title, body, published, year, month, gone) VALUES "
                     "('given', 't', 'x', 'y', '2020-02-02', '2020', '2020-02', 0), "
                     "('wrong', 't', 'x', 'y', '2021-03-03', '1999', NULL, 1)")
        assert conn.execute("SELECT year, month, gone FROM articles WHERE url = 'wrong'").fetchone() == ("2021", "2021-03", 0)
        assert same_as_articles(conn)
        assert conn.execute("SELECT year, gone FROM article_facets WHERE id = 3").fetchone() == ("2001", 0)
        total, facets = search_facets.count_and_facets(conn, "政协")
        assert total == len(reference(conn, "政协"))
        assert facets["year"] == separate(conn, "政协", "year")


def test_cli_prints_the_facets_of_a_search(archive_copy):
    conn = sqlite3.connect(archive_copy)
    total, facets = search_facets.count_and_facets(conn, "政协")
    out = CliRunner().invoke(cli, ["search", "政协", "--db", str(archive_copy), "--facets", "--limit", "1"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    site_line = next(line for line in lines if line.startswith("site: "))
    value, count = facets["site"][0]
    assert site_line.startswith(f"site: {value} {count}")
    assert lines[-1].startswith(f"{total} results") and total == len(reference(conn, "政协")) > 1


def test_a_one_pass_out_of_time_reports_the_facets_timed_out_and_still_counts(archive_copy, monkeypatch):
    """Datasette interrupts the one pass (its time limit: here, every time): the count is still given, the
    page says the facets timed out, and none is tried again on its own (each would read the hits again)."""
    from datasette.database import Database, QueryInterrupted

    execute, asked = Database.execute, []

    async def out_of_time(self, sql, *args, **kwargs):
        asked.append(sql)
        if sql.lstrip().startswith("WITH hits AS MATERIALIZED"):
            raise QueryInterrupted(None, sql, args[0] if args else None)
        return await execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(Database, "execute", out_of_time)
    conn = sqlite3.connect(archive_copy)
    search.register_functions(conn)
    path = f"/{archive_copy.stem}/articles?_search=" + urllib.parse.quote("政协")

    async def pages():
        ds = Datasette([str(archive_copy)], settings={**SETTINGS, "suggest_facets": False})
        await ds.invoke_startup()
        return (await ds.client.get(path.replace("articles?", "articles.json?"))), (await ds.client.get(path))
    as_json, html = asyncio.run(pages())
    assert as_json.status_code == html.status_code == 200
    assert as_json.json()["filtered_table_rows_count"] == len(reference(conn, "政协")) > 0
    assert as_json.json()["facet_results"] == {}
    assert "These facets timed out: site, section, year, month, issuer, gone, quality" in html.text
    one_pass = [s for s in asked if s.lstrip().startswith("WITH hits AS MATERIALIZED")]
    facet_queries = [s for s in asked if " as value, count(*) as count from " in s]
    assert len(one_pass) == 2 and facet_queries == []  # one per page, nothing after it
