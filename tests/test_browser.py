"""A person's path through the archive, in a real headless Chromium driven by Playwright.

Needs Debian's `chromium` (.ci/run installs it); skipped, saying why, only where none can be found.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.test_datasette_search import reference_urls, start_server, stop

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_or_skip() -> str:
    for candidate in (os.environ.get("GOVNEWS_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("no Chromium here: install Debian's package (apt-get install chromium) or set GOVNEWS_CHROMIUM")


@pytest.fixture
def browser(tmp_path):
    executable = chromium_or_skip()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, headless=True, args=CHROMIUM_FLAGS,
            accept_downloads=True, locale="zh-CN")
        yield context
        context.close()


def test_search_read_and_download_in_a_browser(fixture_archive, tmp_path, browser):
    db = tmp_path / "archive.db"
    shutil.copy(fixture_archive, db)
    proc, base = start_server([sys.executable, "-m", "crawler.cli", "serve", "--db", str(db)])
    try:
        page = browser.new_page()
        page.goto(f"{base}/archive/articles")
        # The search box: type 政协, press Enter.
        page.fill("input#_search", "政协")
        page.press("input#_search", "Enter")
        page.wait_for_load_state()
        expected = reference_urls(db, "政协")
        heading = page.locator("h3").first.inner_text()
        assert heading.startswith(f"{len(expected):,} rows") and "政协" in heading, heading
        page.screenshot(path=str(tmp_path / "search.png"))

        # Download every hit as CSV (more than one page: the stream option), as a user would.
        page.check("#export input[name=_dl]")
        page.check("#export input[name=_stream]")
        with page.expect_download() as dl:
            page.click("#export input[type=submit]")
        path = tmp_path / "hits.csv"
        dl.value.save_as(path)
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), raw[:20]
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
        assert {r["url"] for r in rows} == expected
        assert all("政协" in r["title"] + r["body"] for r in rows)

        # Open the first hit's article page: the body reads as paragraphs.
        first = page.locator("table.rows-and-columns tbody tr td.col-title a").first  # the title links to it
        first.click()
        page.wait_for_load_state()
        page.screenshot(path=str(tmp_path / "article.png"), full_page=True)
        title = page.locator("article.govnews-article h1").inner_text()
        conn = sqlite3.connect(db)
        body = conn.execute("SELECT body FROM articles WHERE title = ?", [title]).fetchone()[0]
        shown = page.locator(".govnews-body p").all_inner_texts()
        assert shown == [p.strip() for p in body.split("\n") if p.strip()]
        assert len(shown) >= 2
        assert page.locator("a.govnews-original").get_attribute("href").startswith("http")
    finally:
        stop(proc)
