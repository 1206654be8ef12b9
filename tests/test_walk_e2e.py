"""Every listing-walk mechanism end to end: its mini-site on 127.0.0.1 → `govnews crawl` → the archive
holds exactly the mini-site's articles (pages that need a browser: tests/test_browser_crawl.py)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from fixtures.server import FixtureServer
from fixtures.sites.walks import WALK_SITES
from tests.conftest import govnews


@pytest.fixture(scope="module")
def walk_server():
    with FixtureServer([cls() for cls in WALK_SITES]) as server:
        yield server


def crawl(server, name: str, db) -> tuple[str, sqlite3.Connection]:
    done = govnews("crawl", "--site", name, "--base-url", server.sites[name].base_url, "--db", str(db),
                   "--log-level", "INFO")
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return done.stdout + done.stderr, conn


@pytest.mark.parametrize("name", ["fixture-static", "fixture-cz-ajax", "fixture-hanweb", "fixture-pageparam"])
def test_walk_archives_exactly_the_sites_articles(walk_server, tmp_path, name):
    site = walk_server.sites[name]
    log, conn = crawl(walk_server, name, tmp_path / "a.db")
    expected = site.expected()
    rows = {r["url"]: dict(r) for r in conn.execute("SELECT url, title, published, sections FROM articles")}
    assert set(rows) == set(expected), log[-3000:]
    for url, art in expected.items():
        assert rows[url]["title"] == art.title, url
        assert rows[url]["published"][:10] == art.published.isoformat(), url
        assert json.loads(rows[url]["sections"]) == art.sections, url
    run = conn.execute("SELECT status, failed FROM crawl_runs").fetchone()
    assert tuple(run) == ("ok", 0), log[-3000:]


def test_walk_stops_on_a_pager_that_repeats_page_one(walk_server, tmp_path):
    site = walk_server.sites["fixture-pageparam"]
    site.requests.clear()
    crawl(walk_server, "fixture-pageparam", tmp_path / "a.db")
    pages = [r.path for r in site.requests if r.path.startswith("/web/news/list.jsp")]
    # 34 articles at 10 a page: pages 1-4, then page 5 (which shows page 1 again) ends the walk.
    assert sorted(pages) == [f"/web/news/list.jsp?catId=1&pageNo={n}" for n in range(1, 6)]


def test_hanweb_requests_carry_the_column_parameters(walk_server, tmp_path):
    site = walk_server.sites["fixture-hanweb"]
    site.requests.clear()
    crawl(walk_server, "fixture-hanweb", tmp_path / "a.db")
    posts = [r for r in site.requests if r.method == "POST"]
    assert [r.path.split("?", 1)[1] for r in posts] == [
        "startrecord=31&endrecord=60&perpage=10", "startrecord=61&endrecord=90&perpage=10"]
    assert all(b"columnid=4101" in r.body and b"unitid=350101" in r.body for r in posts)
    gets = sorted(r.path for r in site.requests if "dataproxy.jsp?page=" in r.path)
    assert [g.split("&", 1)[0] for g in gets] == ["/module/web/jpage/dataproxy.jsp?page=1",
                                                    "/module/web/jpage/dataproxy.jsp?page=2"]
