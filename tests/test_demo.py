"""`govnews demo --no-serve` (what `make demo` runs) crawls every fixture site, and can be run again."""

from __future__ import annotations

import sqlite3

from crawler.browser import find_chromium
from fixtures.server import all_sites, browser_sites
from tests.conftest import govnews


def demo_sites() -> list:
    """What the demo crawls: every fixture site, and the ones that need a browser when Chromium is here."""
    return all_sites() + (browser_sites() if find_chromium() else [])


def test_demo_crawls_every_fixture_site_and_reruns_cleanly(tmp_path):
    db = tmp_path / "demo.db"
    expected = 0
    for site in demo_sites():
        site.build("http://127.0.0.1:9/")
        known = set(site.articles)
        if hasattr(site, "second_edition"):  # crawled again: its new articles join (the retracted one stays)
            site.second_edition()
        expected += len(known | set(site.articles))
    for _ in range(2):
        done = govnews("demo", "--no-serve", "--db", str(db), check=True)
        assert "failed=0" in done.stdout
        conn = sqlite3.connect(db)
        sites = {r[0] for r in conn.execute("SELECT DISTINCT site FROM articles")}
        assert sites == {s.name for s in demo_sites()}
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == expected >= 150
        # The second crawl of fixture-edits left changes to look at.
        assert conn.execute("SELECT count(*) FROM article_versions WHERE version > 1").fetchone()[0] == 4
        assert conn.execute("SELECT count(*) FROM articles WHERE gone_at IS NOT NULL").fetchone()[0] == 1
        conn.close()
