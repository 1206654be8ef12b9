"""A crawl writing while Datasette serves the same archive file.

Reads keep working (every request answers 200, none sees "database is locked") and see new rows as
they are committed; the WalCheckpoint extension truncates the write-ahead log again and again while
800 articles (24 MB of pages fetched) are archived.

How large the -wal file gets between two truncations depends on how fast this machine writes and
reads, so no byte bound is asserted here (bench/ measures it); the checkpoint's own rule is unit-tested
below against a reader that holds a snapshot: it waits for no reader, gives up when one is busy, and
truncates as soon as the reader lets go.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

from archive.store import Archive
from fixtures.server import FixtureServer
from fixtures.sites.generated import GeneratedSite
from tests.conftest import REPO

ARTICLES = 800
WAL_MAX = 1 << 20


def test_crawl_while_datasette_reads(tmp_path, datasette_server):
    site = GeneratedSite(articles=ARTICLES, sections=4)
    toml = tmp_path / "generated.toml"
    toml.write_text(site.gen.toml(), encoding="utf-8")
    db = tmp_path / "archive.db"
    Archive(db).close()  # Datasette needs the file (and its schema) before the crawl starts
    base = datasette_server(db)
    count_url = f"{base}/archive.json?" + urllib.parse.urlencode(
        {"sql": "select count(*) as n, max(fetched_at) as last from articles", "_shape": "array"})
    search_url = f"{base}/archive/articles.json?" + urllib.parse.urlencode(
        {"body__contains": "营商环境", "_size": "20", "_shape": "array"})

    readings: list[int] = []
    failures: list[str] = []
    wal_sizes: list[int] = []
    done = threading.Event()

    def read(url: str, counting: bool, once: bool = False) -> None:
        while once or not done.is_set():
            try:
                with urllib.request.urlopen(url, timeout=30) as r:
                    rows = json.load(r)
                if counting:
                    readings.append(rows[0]["n"])
            except Exception as e:  # any failed read is a test failure, reported below
                failures.append(repr(e))
            if once:
                return
            time.sleep(0.02)

    def watch_wal() -> None:
        while not done.is_set():
            try:
                wal_sizes.append(os.path.getsize(str(db) + "-wal"))
            except OSError:
                pass
            time.sleep(0.02)

    with FixtureServer([site]) as server:
        threads = [threading.Thread(target=read, args=(count_url, True)),
                   threading.Thread(target=read, args=(search_url, False)),
                   threading.Thread(target=watch_wal)]
        for t in threads:
            t.start()
        try:
            crawl = subprocess.run(
                [sys.executable, "-m", "crawler.cli", "crawl", "--site", str(toml), "--base-url",
                 server.base_urls()["generated"], "--db", str(db), "--log-level", "WARNING",
                 "-s", f"GOVNEWS_WAL_MAX_BYTES={WAL_MAX}", "-s", "GOVNEWS_WAL_CHECK_INTERVAL=0.2"],
                cwd=REPO, capture_output=True, text=True, timeout=600)
        finally:
            done.set()
            for t in threads:
                t.join(timeout=60)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    read(count_url, True, once=True)  # a last reading, surely after the crawl's final commit
    assert not failures, failures[:5]
    # Reads saw the archive grow while the crawl wrote it, never shrink, and end with every row.
    assert readings == sorted(readings)
    assert len(set(readings)) >= 5, sorted(set(readings))
    assert readings[-1] == ARTICLES
    # The WAL went over GOVNEWS_WAL_MAX_BYTES again and again and was truncated each time (SQLite's own
    # PASSIVE checkpoints never shrink the file).
    truncations = sum(1 for a, b in zip(wal_sizes, wal_sizes[1:], strict=False) if b < a)
    assert truncations >= 3, truncations
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == ARTICLES
