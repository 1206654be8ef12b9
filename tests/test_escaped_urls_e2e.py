"""Links Scrapy percent-escapes (Chinese path segments, spaces, quotes) archived once, end to end
(issue 11, item 3): a listing linking /a/中文.html and /a/a b.html, crawled twice, gives exactly one
row each, under the URL Scrapy requests, listed in its section."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from urllib.parse import quote

from fixtures.server import FixtureServer, FixtureSite, Reply
from fixtures.sites.text import make_articles
from fixtures.sites.walks import article_page, esc, page
from tests.conftest import govnews

SECTION = "要闻"
# Raw links as a CMS writes them: non-ASCII, a space, a quote, and one already escaped.
LINKS = ["/a/中文.html", "/a/a b.html", "/a/it's.html", "/a/%E6%94%BF%E7%AD%96.html", "/a/plain.html"]


class EscapedLinksSite(FixtureSite):
    name = "fixture-escaped"

    def build(self, base_url: str) -> None:
        arts = make_articles(seed=11, count=len(LINKS), start=date(2025, 3, 1), id_prefix="7", id_digits=6)
        self.served = {}
        rows = []
        for link, a in zip(LINKS, arts, strict=True):
            a.sections.append(SECTION)
            path = quote(link, safe="/%'")  # what arrives on the wire
            self.pages[path] = Reply.html(article_page("示例", SECTION, a))
            self.served[path] = a
            rows.append(f'<li><a href="{esc(link)}">{esc(a.title)}</a><span class="date">{a.published}</span></li>')
        self.pages["/robots.txt"] = Reply(b"User-agent: *\nDisallow:\n", 200, [("Content-Type", "text/plain")])
        self.pages["/a/"] = Reply.html(page("示例", SECTION, f'<div class="main"><ul class="newslist">{"".join(rows)}</ul></div>'))


def test_escaped_links_archived_once_with_their_section(tmp_path):
    toml = tmp_path / "fixture-escaped.toml"
    toml.write_text(f'name = "fixture-escaped"\nfixture = true\n[[sections]]\nname = "{SECTION}"\nurl = "/a/"\n',
                    encoding="utf-8")
    db = tmp_path / "a.db"
    with FixtureServer([EscapedLinksSite()]) as server:
        site = server.sites["fixture-escaped"]
        for _run in (1, 2):
            done = govnews("crawl", "--site", str(toml), "--base-url", site.base_url, "--db", str(db), "--full")
            assert done.returncode == 0, done.stderr[-3000:]
        article_requests = [r.path for r in site.requests if r.path.startswith("/a/") and r.path != "/a/"]
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT url, title, sections FROM articles ORDER BY url").fetchall()
    listed = conn.execute("SELECT article_url, count(*) FROM article_sections GROUP BY article_url").fetchall()
    base = site.base_url.rstrip("/")
    expected = {base + path: a for path, a in site.served.items()}
    assert sorted(r[0] for r in rows) == sorted(expected), rows  # exactly one row each, under the escaped URL
    for url, title, sections in rows:
        assert title == expected[url].title, url
        assert json.loads(sections) == [SECTION], url
    assert sorted(u for u, _ in listed) == sorted(expected) and all(n == 1 for _, n in listed), listed
    assert sorted(article_requests) == sorted(site.served), article_requests  # each fetched once in two runs
    assert "%E4%B8%AD%E6%96%87" in "".join(expected) and "a%20b" in "".join(expected)
