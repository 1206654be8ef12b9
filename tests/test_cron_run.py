"""`govnews crawl` under cron: the lock (exit 75), kill -9 and resume, quiet output, progress on a TTY."""

from __future__ import annotations

import json
import os
import pty
import signal
import sqlite3
import subprocess
import sys
import threading
import time

from archive.warc import warc_files
from tests.conftest import REPO, govnews
from tests.crawlkit import crawl, q, start_crawl

CZ = "fixture-changzhou"


def slow_down(site, seconds: float) -> None:
    """Make every answer of the fixture site take `seconds` (a real, slow server)."""
    site.handlers.insert(0, lambda req: time.sleep(seconds))


def hold_articles(site) -> threading.Event:
    """Article answers of the fixture site wait until the returned event is set (at most 120 s)."""
    release = threading.Event()

    def hold(req) -> None:
        if req.path.startswith("/ns_news/"):
            release.wait(120)

    site.handlers.insert(0, hold)
    return release


def wait_for(predicate, timeout: float = 180, what: str = "condition") -> None:
    """Poll until `predicate()` holds; the timeout is a deadline for a loaded machine, not a delay."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def article_requests(site) -> int:
    return sum(r.path.startswith("/ns_news/") for r in site.requests)


def test_second_concurrent_run_exits_75_at_once(fixture_server, tmp_path):
    site = fixture_server.sites[CZ]
    # Article answers wait until the second run has returned: the first run holds the lock meanwhile,
    # so a second run that waited for the lock would time out here instead of exiting at once.
    release = hold_articles(site)
    db = tmp_path / "a.db"
    first = start_crawl(fixture_server, CZ, db)
    try:
        wait_for(lambda: article_requests(site) > 0, what="the first crawl to start fetching")
        try:
            second = govnews("crawl", "--site", CZ, "--base-url", site.base_url, "--db", str(db), timeout=100)
        finally:
            release.set()
        assert second.returncode == 75, (second.returncode, second.stdout, second.stderr)
        assert second.stdout == ""
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "locked by a running crawl" in lines[0] and f"pid {first.pid}" in lines[0], lines
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert q(db, "SELECT count(*), min(status) FROM crawl_runs") == [(1, "ok")]  # the locked run left no row


def _snapshot(db) -> dict:
    return {
        "articles": sorted(q(db, "SELECT url, content_hash, title FROM articles")),
        "sections": sorted(q(db, "SELECT a.article_url, s.name FROM article_sections a JOIN sections s ON s.id = a.section_id")),
        "attachments": sorted(q(db, "SELECT article_url, url, status, sha256, size FROM attachments")),
        "versions": sorted(q(db, "SELECT article_url, version, content_hash FROM article_versions")),
    }


def test_kill_9_at_any_moment_then_resume_loses_and_duplicates_nothing(fixture_server, tmp_path):
    site = fixture_server.sites[CZ]
    # A clean, uninterrupted crawl is the reference.
    clean = tmp_path / "clean.db"
    crawl(fixture_server, CZ, clean)
    reference = _snapshot(clean)
    assert len(reference["articles"]) == len(site.articles)

    slow_down(site, 0.04)
    db = tmp_path / "a.db"
    # Kill it three times at different moments: during the listing walk, among the first articles, mid-crawl.
    for when in (lambda: len(site.requests) >= 3, lambda: article_requests(site) >= 10,
                 lambda: article_requests(site) >= 60):
        site.requests.clear()
        proc = start_crawl(fixture_server, CZ, db)
        wait_for(when, what="the crawl to get far enough")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        # Whatever state it left, the database is sound.
        assert q(db, "PRAGMA integrity_check") == [("ok",)]
    site.handlers.clear()

    resumed = crawl(fixture_server, CZ, db)
    assert ": ok " in resumed.stdout
    assert "interrupted" in resumed.stderr  # it says which runs it found killed
    # Nothing lost, nothing duplicated: the archive equals the uninterrupted one.
    assert _snapshot(db) == reference
    assert q(db, "PRAGMA integrity_check") == [("ok",)]
    assert q(db, "SELECT count(*) FROM articles") == q(db, "SELECT count(DISTINCT url) FROM articles")
    runs = q(db, "SELECT status FROM crawl_runs ORDER BY id")
    assert runs == [("interrupted",)] * 3 + [("ok",)]
    assert {r[0] for r in q(db, "SELECT walk_status FROM sections")} == {"complete"}
    # Every WARC file reads back (torn tails were set aside), every pointer lands on its record.
    verify = govnews("warc", "verify", "--db", str(db))
    assert verify.returncode == 0, verify.stdout
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", *map(str, warc_files(tmp_path / "a-warc"))],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    # And the next run is incremental again: listings only.
    site.requests.clear()
    crawl(fixture_server, CZ, db)
    assert sorted({r.path.split("/")[1] for r in site.requests}) == ["ns_class", "robots.txt"]
    assert len(site.requests) == 4


def test_quiet_under_cron_one_summary_line_and_a_log_file(fixture_server, tmp_path):
    db = tmp_path / "a.db"
    done = crawl(fixture_server, CZ, db)
    assert done.stderr == ""  # no terminal: no progress line, no INFO chatter
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{CZ}: ok run=1 new=")
    log_file = lines[0].rsplit("log=", 1)[1]
    assert log_file == q(db, "SELECT log_file FROM crawl_runs WHERE id = 1")[0][0]
    text = open(log_file, encoding="utf-8").read()
    assert "Spider opened" in text and "walk complete" in text
    row = dict(zip(("status", "requests", "bytes", "new", "sections", "errors", "pid", "warc_files"),
                   q(db, "SELECT status, requests, bytes, new, sections, errors, pid, warc_files FROM crawl_runs")[0], strict=True))
    assert row["status"] == "ok" and row["requests"] > 100 and row["bytes"] > 10000 and row["new"] > 100
    assert set(json.loads(row["sections"])) == {"常州新闻", "部门动态", "领导活动"}
    assert json.loads(row["errors"]) == {} and json.loads(row["warc_files"])


def test_progress_line_on_a_terminal(fixture_server, tmp_path):
    site = fixture_server.sites[CZ]
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "crawl", "--site", CZ, "--base-url", site.base_url,
                             "--db", str(tmp_path / "a.db")], cwd=REPO, stdout=subprocess.PIPE, stderr=slave,
                            text=False)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=300)
    reader.join(timeout=10)
    os.close(master)
    tty = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0
    assert "\r" in tty and f"{CZ}: sections 3/3" in tty and "new 134" in tty, tty[-500:]
    assert len(out.decode().splitlines()) == 1


def test_usage_errors_exit_2(tmp_path):
    assert govnews("crawl", "--site", "no-such-site", "--db", str(tmp_path / "a.db")).returncode == 2
    assert govnews("crawl", "--site", CZ, "--db", str(tmp_path / "a.db")).returncode == 2  # fixture needs --base-url
    assert govnews("crawl", "--site", CZ, "--db", str(tmp_path / "a.db"), "--pages", "0").returncode == 2


def test_archive_from_before_versions_is_upgraded(tmp_path):
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.executescript("""
        CREATE TABLE sites (name TEXT PRIMARY KEY, title TEXT, base_url TEXT, allowed_hosts TEXT, definition TEXT);
        CREATE TABLE sections (id INTEGER PRIMARY KEY, site TEXT, name TEXT, url TEXT);
        CREATE TABLE crawl_runs (id INTEGER PRIMARY KEY, site TEXT, started TEXT, finished TEXT, status TEXT,
            requests INTEGER, bytes INTEGER, new INTEGER, updated INTEGER, unchanged INTEGER, failed INTEGER,
            errors TEXT, sections TEXT, log_file TEXT, argv TEXT);
        CREATE TABLE articles (url TEXT PRIMARY KEY, site TEXT, title TEXT, body TEXT, content_hash TEXT,
            published TEXT, source TEXT, author TEXT, fetched_at TEXT, run_id INTEGER);
        CREATE TABLE article_sections (article_url TEXT, section_id INTEGER, first_seen TEXT, PRIMARY KEY (article_url, section_id));
        CREATE TABLE attachments (article_url TEXT, url TEXT, text TEXT, PRIMARY KEY (article_url, url));
        INSERT INTO articles (url, site, title, body, content_hash) VALUES ('http://x/1', 's', 't', 'b', 'h');
        INSERT INTO crawl_runs (site, status) VALUES ('s', 'running');
    """)
    conn.close()
    from archive.store import Archive

    with Archive(db) as archive:
        assert archive.mark_interrupted_runs() == [1]
    assert q(db, "SELECT article_url, version, content_hash FROM article_versions") == [("http://x/1", 1, "h")]
    assert q(db, "SELECT version, gone_at FROM articles") == [(1, None)]
    assert q(db, "SELECT status FROM crawl_runs") == [("interrupted",)]


def test_kill_9_in_the_middle_of_a_warc_write(fixture_server, tmp_path, monkeypatch):
    """A real kill while a 20 MB attachment is being written: a torn last record, detected and set aside."""
    import random

    from archive.warc import scan_warc
    from fixtures.server import Reply

    site = fixture_server.sites["fixture-trs"]
    big_path = next(p for p in site.pages if p.endswith(".pdf"))
    site.pages[big_path] = Reply(random.Random(1).randbytes(20 << 20), 200, [("Content-Type", "application/pdf")])
    db = tmp_path / "a.db"
    warc_dir = tmp_path / "a-warc"
    # The writer streams a record to the file in 1 MiB pieces; fault injection (archive/warc_stream.py)
    # stops it once 3 MiB of a record are on disk (it writes <file>.paused then), well inside the 20 MB.
    monkeypatch.setenv("GOVNEWS_FAULT_WARC_PAUSE_AFTER", str(3 << 20))
    proc = start_crawl(fixture_server, "fixture-trs", db)
    monkeypatch.delenv("GOVNEWS_FAULT_WARC_PAUSE_AFTER")  # the resumed crawl below writes undisturbed
    wait_for(lambda: list(warc_dir.glob("*.paused")), timeout=240, what="the WARC write to stop mid-record")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    [paused] = warc_dir.glob("*.paused")
    torn = [r for r in map(scan_warc, warc_files(warc_dir)) if r.torn_at is not None]
    assert len(torn) == 1 and torn[0].ok  # everything before the torn record reads and checks out
    assert (torn[0].path.name, torn[0].torn_at) == (paused.name.removesuffix(".paused"), int(paused.read_text()))
    assert 3 << 20 <= torn[0].torn_bytes < 20 << 20
    assert govnews("warc", "verify", "--db", str(db)).returncode == 0  # reported, skipped, not fatal
    assert q(db, "PRAGMA integrity_check") == [("ok",)]

    resumed = crawl(fixture_server, "fixture-trs", db)
    assert "torn last record" in resumed.stderr and "interrupted" in resumed.stderr
    assert len(list(warc_dir.glob("*.torn-*"))) == 1
    assert govnews("warc", "verify", "--db", str(db)).returncode == 0
    assert subprocess.run([sys.executable, "-m", "warcio.cli", "check", *map(str, warc_files(warc_dir))]).returncode == 0
    # The attachment was downloaded again by the resumed run and is in the archive.
    name = big_path.rsplit("/", 1)[1]
    assert q(db, "SELECT status, size FROM attachments WHERE url LIKE ?", [f"%/{name}"]) == [("ok", 20 << 20)]
    assert q(db, "SELECT count(*) FROM articles")[0][0] == len(site.articles)


def test_sigterm_finishes_gracefully_as_interrupted(fixture_server, tmp_path):
    site = fixture_server.sites[CZ]
    slow_down(site, 0.05)
    db = tmp_path / "a.db"
    proc = start_crawl(fixture_server, CZ, db)
    wait_for(lambda: article_requests(site) >= 20, what="the crawl to be under way")
    proc.send_signal(signal.SIGTERM)  # what systemd sends on stop
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1 and ": interrupted run=1 " in out, out
    assert q(db, "SELECT status, finished IS NOT NULL FROM crawl_runs") == [("interrupted", 1)]
    assert q(db, "SELECT count(*) FROM articles")[0][0] < len(site.articles)
    site.handlers.clear()
    crawl(fixture_server, CZ, db)
    assert q(db, "SELECT count(*) FROM articles")[0][0] == len(site.articles)
