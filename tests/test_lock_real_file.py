"""The archive lock and WARC recovery act on real files, not path strings (issue 11, item 5)."""

from __future__ import annotations

import gzip

from archive.store import Archive
from archive.warc import Exchange, WarcWriter, repair_torn_tail
from crawler.run import recover
from tests.conftest import govnews
from tests.crawlkit import q, start_crawl
from tests.test_cron_run import CZ, article_requests, hold_articles, wait_for


def test_a_crawl_through_a_symlink_to_a_live_archive_exits_75(fixture_server, tmp_path):
    site = fixture_server.sites[CZ]
    release = hold_articles(site)  # the first crawl holds the lock until the second has returned
    db = tmp_path / "a.db"
    link = tmp_path / "link.db"
    link.symlink_to(db)
    first = start_crawl(fixture_server, CZ, db)
    try:
        wait_for(lambda: article_requests(site) > 0, what="the first crawl to start fetching")
        try:
            second = govnews("crawl", "--site", CZ, "--base-url", site.base_url, "--db", str(link), timeout=100)
        finally:
            release.set()
        assert second.returncode == 75, (second.returncode, second.stderr)
        assert "locked by a running crawl" in second.stderr
    finally:
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert q(db, "SELECT count(*), min(status) FROM crawl_runs") == [(1, "ok")]  # never marked interrupted


def test_recovery_never_touches_a_warc_file_a_live_crawl_writes(tmp_path):
    """Two archives sharing one --warc-dir: the second's recovery of its killed run 1 must leave alone the
    run-1 file another archive's live crawl is writing, even mid-record (before the fix it cut it)."""
    warc_dir = tmp_path / "shared-warc"
    other = tmp_path / "other.db"
    with Archive(other) as archive:  # a run left 'running' by a kill: recovery looks at *-r000001-* files
        archive.start_run("fixture-changzhou", ["govnews", "crawl"])
    live = WarcWriter(warc_dir, "fixture-changzhou-r000001-20260101T000000", {"software": "test"})
    live.write(Exchange(url="http://127.0.0.1:9/ns_news/1", status=200, reason="OK", protocol="HTTP/1.1",
                        response_headers=[(b"Content-Type", b"text/html")], body=b"<html>ok</html>",
                        method="GET", target="/ns_news/1", request_headers=[(b"Host", b"127.0.0.1:9")],
                        request_body=b""))
    path = warc_dir / live.name
    with open(path, "ab") as fh:  # the live writer is half-way through its next record
        fh.write(gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n" + b"x" * 500)[:40])
    size = path.stat().st_size
    try:
        with Archive(other) as archive:
            ids, _notes = recover(archive, warc_dir)
        assert ids == [1]
        assert path.stat().st_size == size and not list(warc_dir.glob("*.torn-*"))
    finally:
        live.close()
    # Once the writer is gone (killed), the same file's torn tail is set aside as before.
    assert repair_torn_tail(path) > 0 and list(warc_dir.glob("*.torn-*"))
