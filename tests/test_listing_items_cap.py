"""A listing page with more article links than GOVNEWS_MAX_LISTING_ITEMS (issue 11, item 10): the first
N are kept, the cut is a counted listing_items_cap failure, and the walk is incomplete (what the page
listed past the cap is not taken for unlisted). Memory: bench/listing_items.py (100,000 links)."""

from __future__ import annotations

import json
import sqlite3

from fixtures.server import FixtureServer
from fixtures.sites.mini import MiniSite
from tests.conftest import govnews


def test_items_past_the_cap_are_cut_and_counted(tmp_path):
    site = MiniSite([f"/a/{i:03d}.html" for i in range(30)])
    with FixtureServer([site]):
        done = govnews("crawl", "--site", str(site.definition(tmp_path)), "--base-url", site.base_url,
                       "--db", str(tmp_path / "a.db"), "-s", "GOVNEWS_MAX_LISTING_ITEMS=10")
        fetched = [r.path for r in site.requests if r.path.startswith("/a/") and r.path != "/a/"]
    conn = sqlite3.connect(tmp_path / "a.db")
    urls = {r[0] for r in conn.execute("SELECT url FROM articles")}
    status, errors = conn.execute("SELECT status, errors FROM crawl_runs").fetchone()
    walk = conn.execute("SELECT walk_status FROM sections").fetchone()[0]
    conn.close()
    assert urls == {site.url(f"/a/{i:03d}.html") for i in range(10)}, done.stderr[-2000:]
    assert len(fetched) == 10
    assert status == "partial" and json.loads(errors) == {"listing_items_cap": 1}
    assert walk == "incomplete"
    assert "WARNING: listing_items_cap: " in done.stderr and "30 items, kept the first 10" in done.stderr


def test_row_finder_bounded_on_a_page_of_100000_links():
    # Counts, not time: the row finder looks at MAX_TITLE_ANCHORS title links at most, in page order.
    from crawler.listing import extract_listing
    from crawler.listing.rows import MAX_TITLE_ANCHORS

    rows = "".join(f'<li><a href="/n/{i}.html">第{i}号关于开展工作的通知</a><span>2025-03-01</span></li>'
                   for i in range(100_000))
    body = f'<html><body><ul class="newslist">{rows}</ul></body></html>'.encode()
    items = extract_listing("http://127.0.0.1:1/a/", body, None)["items"]
    assert len(items) == MAX_TITLE_ANCHORS == 20000
    assert items[0]["url"] == "http://127.0.0.1:1/n/0.html" and items[-1]["url"].endswith(f"/n/{MAX_TITLE_ANCHORS - 1}.html")
