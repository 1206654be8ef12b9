"""Atom feeds of new, changed and taken-down articles (datasette-atom over canned queries in metadata.json).

Every feed is fetched over HTTP from `govnews serve` and parsed with feedparser; entries are asserted
exactly. The archive is fixtures/sites/edits.py crawled, then its second edition crawled twice.
"""

from __future__ import annotations

import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import feedparser
import pytest

from archive.store import Archive
from tests.test_datasette_search import start_server, stop
from tests.test_diffs import edited_archive  # noqa: F401  (the crawled fixture archive)

ATOM = "{http://www.w3.org/2005/Atom}"
EVERY_NEW = {f"700000{i}" for i in range(1, 10)}
CHANGED = {"7000002", "7000003", "7000004", "7000005"}


@pytest.fixture(scope="module")
def feeds(edited_archive):  # noqa: F811
    db, urls = edited_archive
    proc, base = start_server([sys.executable, "-m", "archive.cli", "serve", "--db", str(db)])
    yield f"{base}/{db.stem}", urls
    stop(proc)


def fetch(url: str) -> tuple[bytes, feedparser.FeedParserDict]:
    with urllib.request.urlopen(url, timeout=60) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("application/xml")
        raw = r.read()
    parsed = feedparser.parse(raw)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    return raw, parsed


def ids_of(parsed, urls, suffix: str) -> set[str]:
    back = {u: i for i, u in urls.items()}
    out = set()
    for e in parsed.entries:
        url, _, tail = e.id.rpartition("#")
        assert tail == suffix, e.id
        out.add(back[url])
    return out


def feed(dbase: str, name: str, **params: str) -> str:
    return f"{dbase}/{name}.atom" + ("?" + urllib.parse.urlencode(params) if params else "")


def test_new_changed_and_gone_feeds_list_exactly_their_entries(feeds):
    dbase, urls = feeds
    _, new = fetch(feed(dbase, "feed_new"))
    assert new.feed.title == "New articles · 新收录文章"
    assert ids_of(new, urls, "new") == EVERY_NEW
    assert new.entries[0].id == urls["7000009"] + "#new"  # archived last, listed first
    _, changed = fetch(feed(dbase, "feed_changed"))
    assert changed.feed.title == "Changed articles · 有改动的文章"
    assert ids_of(changed, urls, "v2") == CHANGED
    _, gone = fetch(feed(dbase, "feed_gone"))
    assert ids_of(gone, urls, "gone") == {"7000006"}
    assert gone.entries[0].title.startswith("下线 Taken down: 示例市老旧小区改造意见征集公告")
    # Links lead to the archived copy on this Datasette (for a change: its diff).
    entry = next(e for e in changed.entries if e.id == urls["7000003"] + "#v2")
    assert entry.link.startswith(dbase + "/articles/") and entry.link.endswith("?from=1&to=2#govnews-diff")
    assert urllib.request.urlopen(entry.link, timeout=30).status == 200


def test_changed_entries_carry_the_diff(feeds):
    dbase, urls = feeds
    _, changed = fetch(feed(dbase, "feed_changed"))
    by_id = {e.id.rpartition("#")[0]: e.content[0].value for e in changed.entries}
    assert "<li>有效性: <del>有效</del> → <ins>失效</ins></li>" in by_id[urls["7000003"]]
    assert "<ins>延时开放期间，各场馆公益讲座和展览免费向公众开放。</ins>" in by_id[urls["7000002"]]
    assert "Attachment replaced 附件被替换" in by_id[urls["7000004"]]
    _, new = fetch(feed(dbase, "feed_new"))
    first = next(e for e in new.entries if e.id == urls["7000001"] + "#new")
    assert first.content[0].value.startswith("<p>各区人民政府，市各委办局：</p><p>为进一步改善城乡生态环境")


def test_feeds_per_site_section_and_search(feeds):
    dbase, urls = feeds
    for name, suffix, want in (("feed_new", "new", EVERY_NEW), ("feed_changed", "v2", CHANGED),
                               ("feed_gone", "gone", {"7000006"})):
        assert ids_of(fetch(feed(dbase, name, site="fixture-edits"))[1], urls, suffix) == want
        assert ids_of(fetch(feed(dbase, name, section="政策文件"))[1], urls, suffix) == want
        # Nothing matches: a valid, empty feed (datasette-atom alone answers 500).
        for params in ({"site": "no-such-site"}, {"section": "没有的栏目"}, {"q": "没有这个词"}):
            raw, parsed = fetch(feed(dbase, name, **params))
            assert parsed.entries == [] and parsed.feed.title, (name, params)
    assert ids_of(fetch(feed(dbase, "feed_new", q="政协"))[1], urls, "new") == {"7000007"}
    assert ids_of(fetch(feed(dbase, "feed_changed", q="延时开放"))[1], urls, "v2") == {"7000002"}


def test_archived_markup_in_a_feed_stays_text(tmp_path):
    db = tmp_path / "h.db"
    url = "https://h.gov.cn/1.html"
    with Archive(db) as archive:
        base = {"url": url, "site": "h", "title": "<script>alert(1)</script>通知", "published": "2025-01-01",
                "attachments": []}
        archive.save_article({**base, "body": "<script>alert(2)</script>\n<a href='javascript:x'>点</a>",
                              "content_hash": "1"})
        archive.save_article({**base, "body": "<script>alert(3)</script>\n<a href='javascript:x'>点</a>",
                              "content_hash": "2"})
    proc, base_url = start_server([sys.executable, "-m", "archive.cli", "serve", "--db", str(db)])
    try:
        for name in ("feed_new", "feed_changed"):
            raw, parsed = fetch(f"{base_url}/h/{name}.atom")
            assert len(parsed.entries) == 1
            entry = ET.fromstring(raw).find(f"{ATOM}entry")
            html = entry.find(f"{ATOM}content").text  # the entry's HTML, as a feed reader gets it
            assert "<script" not in html and "<a " not in html
            assert "&lt;script&gt;alert(" in html
            if name == "feed_new":
                assert "&lt;a href=" in html
            assert entry.find(f"{ATOM}title").text.startswith(("<script>alert(1)</script>通知", "改动 Changed: <script>"))
    finally:
        stop(proc)
