"""Downloads that never lie: the table page's CSV link gets every row as a file; a failure mid-stream shows.

The archive is written through archive.store (save_article), as a crawl writes it, with 1,500 articles:
more than Datasette's 1,000-row page, so a silent cut would show as a short file.
"""

from __future__ import annotations

import csv
import http.client
import io
import sqlite3
import sys
import urllib.request

import pytest

from archive.store import Archive
from tests.test_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.test_datasette_search import start_server, stop

N = 1500


@pytest.fixture(scope="module")
def archive_1500(tmp_path_factory):
    db = tmp_path_factory.mktemp("csv1500") / "news.db"
    with Archive(db) as archive:
        archive.db["sites"].insert({"name": "s", "title": "示例站", "base_url": "https://s.gov.cn/"})
        for i in range(N):
            archive.save_article({
                "url": f"https://s.gov.cn/art/{i:05d}.html", "site": "s", "title": f"第{i}号通知：政协会议",
                "published": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}", "source": "市政府办公室",
                "body": f"市政协召开第{i}次专题协商会。\n与会人员围绕营商环境建言献策。",
                "content_hash": f"h{i}", "http_status": 200, "attachments": []}, run_id=None)
        # A view whose 1,201st row makes a SQL function fail on Datasette's (bounded) connections: a
        # download that breaks after the first page of rows has been sent.
        archive.db.execute("CREATE VIEW breaks_midway AS SELECT url, CASE WHEN rowid = 1201 THEN "
                           "govnews_fts_text(printf('%.*c', 2000001, 'x')) ELSE title END AS title "
                           "FROM articles ORDER BY rowid")
    return db


@pytest.fixture(scope="module")
def served(archive_1500):
    proc, base = start_server([sys.executable, "-m", "archive.cli", "serve", "--db", str(archive_1500)])
    yield base
    stop(proc)


def rows_of(raw: bytes) -> list[dict]:
    assert raw.startswith(b"\xef\xbb\xbf"), raw[:20]
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_csv_link_a_user_clicks_downloads_every_row(served, tmp_path, browser):  # noqa: F811
    page = browser.new_page()
    page.goto(f"{served}/news/articles")
    link = page.locator("p.export-links a", has_text="CSV").last
    with page.expect_download() as dl:
        link.click()
    download = dl.value
    assert download.suggested_filename == "articles.csv"
    path = tmp_path / "articles.csv"
    download.save_as(path)
    rows = rows_of(path.read_bytes())
    assert len(rows) == N and len({r["url"] for r in rows}) == N
    assert rows[0]["title"].endswith("政协会议")


def test_csv_is_a_download_and_a_numeric_size_is_respected(served):
    with urllib.request.urlopen(f"{served}/news/articles.csv?_size=max", timeout=120) as r:
        assert r.headers["Content-Disposition"].startswith("attachment")
        assert r.headers["Content-Type"].startswith("text/csv")
        assert len(rows_of(r.read())) == N
    # Asking for 10 rows gives 10 rows (not a stream of all).
    with urllib.request.urlopen(f"{served}/news/articles.csv?_size=10", timeout=60) as r:
        assert r.headers["Content-Disposition"].startswith("attachment")
        assert len(rows_of(r.read())) == 10
    # A search's CSV: every hit.
    with urllib.request.urlopen(f"{served}/news/articles.csv?_search=%E6%94%BF%E5%8D%8F&_size=max",
                                timeout=120) as r:
        assert len(rows_of(r.read())) == N


def test_an_error_mid_stream_aborts_the_download(served, archive_1500):
    assert sqlite3.connect(archive_1500).execute("SELECT count(*) FROM articles").fetchone()[0] == N
    with urllib.request.urlopen(f"{served}/news/breaks_midway.csv?_size=max", timeout=120) as r:
        assert r.status == 200  # the first rows went out before the failure
        got = b""
        with pytest.raises((http.client.IncompleteRead, ConnectionError)):
            while chunk := r.read1(65536):
                got += chunk
    # What arrived was a visibly broken transfer, after at least the first page of rows.
    assert got.count(b"\n") >= 1000
    assert b"over 2,000,000 characters" not in got
