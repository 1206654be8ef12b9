"""Downloads people open in Excel: CSV through Datasette (BOM, every row, visible failure), govnews export."""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import sqlite3
import subprocess
import sys
import urllib.request

import pytest

from archive.store import Archive
from tests.conftest import REPO, govnews
from tests.test_datasette_search import start_server, stop

N_BIG = 2500  # more rows than Datasette returns per page (1,000), and > 1 MB of CSV characters


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory):
    db = tmp_path_factory.mktemp("big") / "big.db"
    para = "市政协召开专题协商会，围绕新质生产力发展建言献策，2024年全市GDP增长百分之五。"
    with Archive(db) as archive:
        archive.db["sites"].insert({"name": "s", "title": "s", "base_url": "https://s.gov.cn/"})
        archive.db["articles"].insert_all(
            ({"url": f"https://s.gov.cn/{i:05d}.html", "site": "s", "title": f"第{i}号文章，政协会议",
              "published": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}", "body": "\n".join([para] * 12),
              "content_hash": str(i)} for i in range(N_BIG)), batch_size=500)
    return db


def read_all(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.read()


def test_full_table_csv_streams_every_row_with_bom(big_archive):
    proc, base = start_server([sys.executable, "-m", "crawler.cli", "serve", "--db", str(big_archive)])
    try:
        raw = read_all(f"{base}/big/articles.csv?_stream=1&_dl=1&_size=max")
    finally:
        stop(proc)
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == N_BIG
    assert len({r["url"] for r in rows}) == N_BIG
    assert rows[0]["title"].endswith("政协会议")


def test_csv_that_hits_the_size_limit_fails_visibly(big_archive):
    """Datasette ends an over-limit CSV with its error text as a last 'row' of an HTTP 200; we abort instead."""
    proc, base = start_server([sys.executable, "-m", "datasette", "serve", str(big_archive),
                               "--setting", "max_csv_mb", "1"])
    try:
        with pytest.raises((http.client.IncompleteRead, ConnectionError, urllib.error.URLError)):
            read_all(f"{base}/big/articles.csv?_stream=1&_dl=1")
        # A small download under the limit is unaffected.
        raw = read_all(f"{base}/big/articles.csv?_size=10")
        assert raw.startswith(b"\xef\xbb\xbf") and len(list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))) == 11
    finally:
        stop(proc)
    assert b"CSV contains more than" in proc.stderr.read()


def expected(db, where: str = "1", params=()) -> set[str]:
    return {u for (u,) in sqlite3.connect(db).execute(f"SELECT a.url FROM articles a WHERE {where}", params)}


def test_export_csv_jsonl_xlsx_with_filters(fixture_archive, tmp_path):
    db = fixture_archive
    conn = sqlite3.connect(db)
    section = conn.execute("SELECT name FROM sections s WHERE site = 'fixture-changzhou' ORDER BY id").fetchone()[0]
    in_section = ("EXISTS (SELECT 1 FROM article_sections x JOIN sections s ON s.id = x.section_id "
                  "WHERE x.article_url = a.url AND s.name = ?)")

    out = tmp_path / "all.csv"
    govnews("export", "--db", str(db), "--out", str(out), check=True)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {r["url"] for r in rows} == expected(db)
    assert any("政协" in r["body"] for r in rows)

    out = tmp_path / "some.csv"
    govnews("export", "--db", str(db), "--out", str(out), "--site", "fixture-changzhou", "--section", section,
            "--since", "2024-11-15", "--until", "2024-12-20", check=True)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    want = expected(db, f"a.site = 'fixture-changzhou' AND {in_section} AND substr(a.published, 1, 10) "
                        "BETWEEN '2024-11-15' AND '2024-12-20'", [section])
    assert {r["url"] for r in rows} == want and want

    out = tmp_path / "trs.jsonl"
    govnews("export", "--db", str(db), "--format", "jsonl", "--site", "fixture-trs", "--out", str(out), check=True)
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["url"] for r in recs} == expected(db, "a.site = 'fixture-trs'")
    with_files = [r for r in recs if r["attachments"]]
    assert with_files and all(a["url"].startswith("http") for r in with_files for a in r["attachments"])
    assert all(isinstance(r["sections"], list) for r in recs)

    from openpyxl import load_workbook

    out = tmp_path / "all.xlsx"
    govnews("export", "--db", str(db), "--format", "xlsx", "--out", str(out), check=True)
    ws = load_workbook(out, read_only=True)["articles"]
    values = list(ws.values)
    header, body = values[0], values[1:]
    assert header[:3] == ("url", "title", "published")
    assert {r[0] for r in body} == expected(db)
    assert any("政协" in (r[1] or "") for r in body)


def test_export_shows_progress_on_a_terminal(fixture_archive, tmp_path):
    master, slave = os.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "crawler.cli", "export", "--db", str(fixture_archive),
                               "--out", str(tmp_path / "x.csv")], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=slave, timeout=120)
        os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
    assert done.returncode == 0
    n = sqlite3.connect(fixture_archive).execute("SELECT count(*) FROM articles").fetchone()[0]
    assert b"100%" in shown and f"{n} articles".encode() in shown


def test_paging_newest_first_visits_every_row_once(big_archive):
    """Thousands of articles share a date: page after page must still show each exactly once."""
    proc, base = start_server([sys.executable, "-m", "crawler.cli", "serve", "--db", str(big_archive)])
    try:
        for extra in ("", "&_search=%E6%94%BF%E5%8D%8F", "&site=s"):
            seen, url = [], f"{base}/big/articles.json?_size=100&_col=url&_nofacet=1{extra}"
            while url:
                data = json.loads(read_all(url))
                seen += [r[0] for r in data["rows"]]
                url = data.get("next_url")
            assert len(seen) == len(set(seen)) == N_BIG, extra
    finally:
        stop(proc)
