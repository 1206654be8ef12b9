"""Links Scrapy percent-escapes (Chinese path segments, spaces, quotes) archived once, end to end
(issue 11, item 3): a listing linking /a/中文.html and /a/a b.html, crawled twice, gives exactly one
row each, under the URL Scrapy requests, listed in its section."""

from __future__ import annotations

import json
import sqlite3

from fixtures.server import FixtureServer
from fixtures.sites.mini import SECTION, MiniSite
from tests.conftest import govnews

# Raw links as a CMS writes them: non-ASCII, a space, a quote, and one already escaped.
LINKS = ["/a/中文.html", "/a/a b.html", "/a/it's.html", "/a/%E6%94%BF%E7%AD%96.html", "/a/plain.html"]


def test_escaped_links_archived_once_with_their_section(tmp_path):
    db = tmp_path / "a.db"
    site = MiniSite(LINKS)
    with FixtureServer([site]):
        toml = site.definition(tmp_path)
        for _run in (1, 2):
            done = govnews("crawl", "--site", str(toml), "--base-url", site.base_url, "--db", str(db), "--full")
            assert done.returncode == 0, done.stderr[-3000:]
        article_requests = [r.path for r in site.requests if r.path.startswith("/a/") and r.path != "/a/"]
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT url, title, sections FROM articles ORDER BY url").fetchall()
    listed = conn.execute("SELECT article_url, count(*) FROM article_sections GROUP BY article_url").fetchall()
    expected = site.expected()
    assert sorted(r[0] for r in rows) == sorted(expected), rows  # exactly one row each, under the escaped URL
    for url, title, sections in rows:
        assert title == expected[url].title, url
        assert json.loads(sections) == [SECTION], url
    assert sorted(u for u, _ in listed) == sorted(expected) and all(n == 1 for _, n in listed), listed
    assert sorted(article_requests) == sorted(site.served), article_requests  # each fetched once in two runs
    assert "%E4%B8%AD%E6%96%87" in "".join(expected) and "a%20b" in "".join(expected)
