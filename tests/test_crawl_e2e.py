"""End to end over real HTTP: fixture servers → `govnews crawl` subprocess → SQLite → `govnews serve`."""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
import urllib.request

from tests.conftest import govnews


def expected_articles(server) -> dict[str, tuple[str, object]]:
    """url -> (site name, fixtures.sites.text.Article) for every article the fixture sites list."""
    out = {}
    cz = server.sites["fixture-changzhou"]
    for a in cz.articles.values():
        out[f"{cz.base_url}ns_news/{a.id}"] = ("fixture-changzhou", a)
    trs = server.sites["fixture-trs"]
    from fixtures.sites.trs import article_path

    for path, a in trs.articles.values():
        out[trs.base_url.rstrip("/") + article_path(path, a)] = ("fixture-trs", a)
    edits = server.sites["fixture-edits"]
    from fixtures.sites.edits import article_path as edits_path

    for d in edits.docs.values():
        out[edits.base_url.rstrip("/") + edits_path(d)] = ("fixture-edits", d)
    return out


def crawl_all(server, db) -> list[str]:
    lines = []
    for name, url in server.base_urls().items():
        done = govnews("crawl", "--site", name, "--base-url", url, "--db", str(db), "--log-level", "WARNING", check=True)
        lines.append(done.stdout.strip())
    return lines


def test_crawl_archives_exactly_the_fixture_articles(fixture_server, tmp_path):
    db = tmp_path / "archive.db"
    lines = crawl_all(fixture_server, db)
    assert all(": ok run=" in line for line in lines), lines
    expected = expected_articles(fixture_server)
    assert len(expected) >= 150
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = {r["url"]: dict(r) for r in conn.execute("SELECT * FROM articles")}
    assert set(rows) == set(expected)
    for url, (site, art) in expected.items():
        row = rows[url]
        assert row["site"] == site
        assert row["title"] == art.title, url
        assert row["published"][:10] == art.published.isoformat(), url
        if art.time:
            assert row["published"] == f"{art.published.isoformat()}T{art.time}:00+08:00", url
        if art.source:
            assert row["source"] == art.source, url
        assert sorted(json.loads(row["sections"])) == sorted(art.sections), url
        body = row["body"]
        for para in art.paragraphs:
            assert para in body, url
        for junk in ("扫一扫", "打印此页", "打印本页", "关闭窗口", "字号", "浏览次数", "分享到", "版权所有"):
            assert junk not in body, (url, junk)
        files = {r[0] for r in conn.execute("SELECT url FROM attachments WHERE article_url = ?", [url])}
        # TRS names files P0<name>; the changzhou mirror keeps the name as is.
        assert sorted(f.rsplit("/", 1)[1].removeprefix("P0") for f in files) == sorted(n for n, _ in art.attachments), url
    # Some articles are listed in two sections, and each listing is recorded.
    assert conn.execute("SELECT count(*) FROM articles WHERE json_array_length(sections) = 2").fetchone()[0] >= 5
    runs = conn.execute("SELECT site, status, new, failed, requests FROM crawl_runs ORDER BY id").fetchall()
    assert [(r[0], r[1]) for r in runs] == [(name, "ok") for name in fixture_server.sites]
    assert sum(r[2] for r in runs) == len(expected)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_recrawl_duplicates_nothing(fixture_server, tmp_path):
    db = tmp_path / "archive.db"
    crawl_all(fixture_server, db)
    conn = sqlite3.connect(db)
    before = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("articles", "article_sections", "attachments", "sections", "sites")}
    hashes = dict(conn.execute("SELECT url, content_hash FROM articles"))
    lines = crawl_all(fixture_server, db)
    assert all("new=0" in line and "updated=0" in line for line in lines), lines
    after = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in before}
    assert after == before
    assert dict(conn.execute("SELECT url, content_hash FROM articles")) == hashes
    assert conn.execute("SELECT count(*) FROM crawl_runs").fetchone()[0] == 2 * len(fixture_server.sites)


def test_serve_answers_json_api(fixture_server, fixture_archive, datasette_server):
    db = fixture_archive  # every fixture site crawled once for the session (this test only reads it)
    base = datasette_server(db)
    total = json.load(urllib.request.urlopen(f"{base}/archive/articles.json?_size=0&_extra=count"))
    n = sqlite3.connect(db).execute("SELECT count(*) FROM articles").fetchone()[0]
    assert total.get("filtered_table_rows_count", total.get("count")) == n
    q = urllib.parse.urlencode({"site": "fixture-trs", "_shape": "array", "_size": "max"})
    rows = json.load(urllib.request.urlopen(f"{base}/archive/articles.json?{q}"))
    assert len(rows) == len(fixture_server.sites["fixture-trs"].articles)
    meta = json.load(urllib.request.urlopen(f"{base}/-/metadata.json"))
    assert meta["license"] and meta["source"]
    assert "title" in meta["databases"]["archive"]["tables"]["articles"]["columns"]
    # Read-only: arbitrary SQL that writes is refused.
    q = urllib.parse.urlencode({"sql": "DELETE FROM articles", "_shape": "array"})
    try:
        urllib.request.urlopen(f"{base}/archive.json?{q}")
    except urllib.error.HTTPError as e:
        assert e.code == 400
    assert sqlite3.connect(db).execute("SELECT count(*) FROM articles").fetchone()[0] == n
