"""Pages that need a browser, end to end: `govnews crawl` of fixture-shells (fixtures/sites/walks.py) on
127.0.0.1 with a real headless Chromium → rows in the archive, the browser's responses in WARC.

Needs Debian's `chromium` (.ci/run installs it); those tests skip, saying why, where none is found. The
fallback (no browser: needs_browser recorded, one warning) runs everywhere.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.warc import read_record
from crawler.browser import find_chromium
from fixtures.server import FixtureServer
from fixtures.sites.walks import ShellSite, clearance
from tests.conftest import govnews

SITE = "fixture-shells"


def needs_chromium() -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium here: install Debian's package (apt-get install chromium) or set GOVNEWS_CHROMIUM")
    pytest.importorskip("scrapy_playwright", reason="scrapy-playwright is a dependency: run make install")


@pytest.fixture
def shells():
    with FixtureServer([ShellSite()]) as server:
        yield server.sites[SITE]


def crawl(site: ShellSite, db: Path, *extra: str) -> tuple[str, sqlite3.Connection, int]:
    done = govnews("crawl", "--site", SITE, "--base-url", site.base_url, "--db", str(db), "--log-level", "INFO", *extra)
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return done.stdout + done.stderr, conn, done.returncode


def plain(req) -> bool:
    """Sent by Scrapy's own HTTP client (Chromium sends Sec-Fetch-* headers with every request)."""
    return "sec-fetch-mode" not in req.headers


def browser_records(warc_dir: Path) -> list[tuple[str, int | None, str]]:
    out = []
    for path in sorted(warc_dir.glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_headers.get_header("GovNews-Fetched-By") == "browser":
                    status = int(rec.http_headers.get_statuscode()) if rec.http_headers else None
                    u = urlsplit(rec.rec_headers.get_header("WARC-Target-URI"))
                    out.append((rec.rec_type, status, u.path + (f"?{u.query}" if u.query else "")))
    return out


def test_browser_archives_script_lists_challenged_pages_and_script_articles(shells, tmp_path):
    needs_chromium()
    log, conn, rc = crawl(shells, tmp_path / "a.db")
    expected = shells.expected()
    rows = {r["url"]: dict(r) for r in conn.execute("SELECT url, title, published, sections, body, fetched_by FROM articles")}
    assert set(rows) == set(expected), log[-3000:]
    for url, art in expected.items():
        assert rows[url]["title"] == art.title and rows[url]["published"][:10] == art.published.isoformat(), url
        assert json.loads(rows[url]["sections"]) == art.sections and rows[url]["body"], url
    run = conn.execute("SELECT status, errors, sections FROM crawl_runs").fetchone()
    assert (rc, run["status"], json.loads(run["errors"])) == (0, "ok", {}), log[-3000:]
    assert all("needs_browser" not in s for s in json.loads(run["sections"]).values())
    assert json.loads(run["sections"])["新闻"]["listing_pages"] >= 3

    # Rendered in the browser: the render = "browser" section's pages and the script-filled article.
    base = shells.base_url.rstrip("/")
    browser = {u for u, r in rows.items() if r["fetched_by"] == "browser"}
    assert browser == {base + shells.article_path(c, a) for c, arts in shells.sections.items() if c == "notice"
                       for a in arts} | {base + shells.article_path("sjdt", shells.scripted)}
    assert {r["fetched_by"] for u, r in rows.items() if u not in browser} == {"http"}

    # render = "auto": one plain request found the shell; the section's later pages went to the browser.
    assert [r.path for r in shells.requests if plain(r) and r.path.startswith("/app/news")] == ["/app/news"]
    assert sorted(r.path for r in shells.requests if not plain(r) and r.path.startswith("/app/news")) == [
        "/app/news", "/app/news?page=2", "/app/news?page=3", "/app/news?page=4"]
    assert not [r for r in shells.requests if plain(r) and r.path.startswith("/app/notice")]  # render = "browser"

    # The challenge: answered twice (Scrapy's request, the browser's first load), then the cookie the
    # page's script computed served the browser's reload and every later plain request of the section.
    cookie = f"gn_clearance={clearance(ShellSite.SEED)}"
    guarded = [r for r in shells.requests if r.path.startswith("/guarded/")]
    assert len([r for r in guarded if cookie not in r.headers.get("cookie", "")]) == 2
    guarded_articles = {shells.article_path("guarded", a) for a in shells.sections["guarded"]}
    assert sorted(r.path for r in guarded if plain(r) and cookie in r.headers.get("cookie", "")) == sorted(
        guarded_articles | {"/guarded/list_2.html"})

    # WARC: the browser's own responses (the 412 and its reload, each XHR) and the rendered DOMs.
    records = browser_records(tmp_path / "a-warc")
    assert ("response", 412, "/guarded/list.html") in records and ("response", 200, "/guarded/list.html") in records
    for n in (1, 2, 3):
        assert any(t == "response" and s == 200 and p.startswith(f"/app/api/list?channel=news&page={n}&sign=")
                   for t, s, p in records), n
    assert ("response", 200, f"/sjdt/api/article?id={shells.scripted.id}") in records
    assert ("resource", None, "/app/news?page=3") in records
    # The script article's row points at its rendered DOM: the body the page's script wrote.
    row = conn.execute("SELECT warc_file, warc_offset FROM articles WHERE url = ?",
                       [base + shells.article_path("sjdt", shells.scripted)]).fetchone()
    rec = read_record(tmp_path / "a-warc" / row[0], row[1])
    assert rec.rec_type == "resource" and rec.rec_headers.get_header("GovNews-Fetched-By") == "browser"
    assert shells.scripted.paragraphs[0] in rec.payload.decode("utf-8")
    assert govnews("warc", "verify", "--db", str(tmp_path / "a.db")).returncode == 0


def test_an_expired_challenge_cookie_sends_the_section_back_through_the_browser(shells, tmp_path):
    needs_chromium()
    shells.cookie_budget = 3  # each clearance serves three requests, then the server challenges again
    log, conn, rc = crawl(shells, tmp_path / "a.db")
    urls = {r[0] for r in conn.execute("SELECT url FROM articles")}
    assert urls == set(shells.expected()), log[-3000:]
    assert rc == 0 and conn.execute("SELECT status FROM crawl_runs").fetchone()[0] == "ok", log[-3000:]
    assert shells.seed > ShellSite.SEED + 1  # more than one challenge was passed, each by the browser
    refused = [r for r in shells.requests if r.path.startswith("/guarded/") and plain(r) and "gn_clearance" in
               r.headers.get("cookie", "")]
    assert refused  # plain requests did use the cookie between challenges


def test_render_http_never_uses_the_browser(shells, tmp_path):
    needs_chromium()
    toml = (Path(__file__).parents[1] / "crawler/sites/fixture-shells.toml").read_text(encoding="utf-8")
    site_file = tmp_path / "shells-http.toml"
    site_file.write_text(toml.replace('url = "/app/news"', 'url = "/app/news"\nrender = "http"'), encoding="utf-8")
    done = govnews("crawl", "--site", str(site_file), "--base-url", shells.base_url, "--db", str(tmp_path / "a.db"))
    conn = sqlite3.connect(tmp_path / "a.db")
    sections = json.loads(conn.execute("SELECT sections FROM crawl_runs").fetchone()[0])
    assert done.returncode == 1 and sections["新闻"]["needs_browser"] == 1
    assert [r.path for r in shells.requests if r.path.startswith("/app/news")] == ["/app/news"]
    assert all(plain(r) for r in shells.requests if r.path.startswith("/app/news"))


def test_without_a_browser_the_crawl_records_needs_browser_with_one_warning(shells, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVNEWS_CHROMIUM", str(tmp_path / "no-chromium"))
    done = govnews("crawl", "--site", SITE, "--base-url", shells.base_url, "--db", str(tmp_path / "a.db"))
    conn = sqlite3.connect(tmp_path / "a.db")
    conn.row_factory = sqlite3.Row
    assert {r[0] for r in conn.execute("SELECT url FROM articles")} == shells.plain_expected()
    assert all(r[0] for r in conn.execute("SELECT body FROM articles"))
    run = conn.execute("SELECT status, sections FROM crawl_runs").fetchone()
    sections = json.loads(run["sections"])
    assert (done.returncode, run["status"]) == (1, "partial")
    assert [sections[s].get("needs_browser") for s in ("新闻", "通知公告", "受保护栏目", "数据动态")] == [1, 1, 1, 1]
    assert done.stderr.count("apt-get install chromium") == 1, done.stderr
    assert all(plain(r) for r in shells.requests)
