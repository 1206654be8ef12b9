"""WalCheckpoint's rule, against a real SQLite file in WAL mode and a reader holding a snapshot.

Deterministic: no crawl, no timing. Over the limit with no reader, the -wal file is truncated; while a
reader holds a snapshot the checkpoint gives up (it does not wait the reader out, and the writer is not
blocked); once the reader lets go, the next tick truncates.
"""

from __future__ import annotations

import os
import sqlite3

from scrapy.utils.test import get_crawler

from crawler.extensions.wal_checkpoint import WalCheckpoint

LIMIT = 64 * 1024


def _writer(db: str) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # only WalCheckpoint checkpoints here
    conn.execute("CREATE TABLE t (x TEXT)")
    return conn


def _grow(conn: sqlite3.Connection, rows: int = 200) -> None:
    conn.executemany("INSERT INTO t VALUES (?)", [("汉" * 500,)] * rows)


def _checkpoint(db: str) -> WalCheckpoint:
    crawler = get_crawler(settings_dict={"GOVNEWS_DB": db, "GOVNEWS_WAL_MAX_BYTES": LIMIT})
    return WalCheckpoint.from_crawler(crawler)


def test_truncates_once_over_the_limit(tmp_path):
    db = str(tmp_path / "a.db")
    writer = _writer(db)
    ext = _checkpoint(db)
    writer.execute("INSERT INTO t VALUES ('small')")
    ext.tick()
    assert os.path.getsize(db + "-wal") > 0 and ext.checkpoints == 0  # under the limit: left alone
    _grow(writer)
    assert os.path.getsize(db + "-wal") > LIMIT
    ext.tick()
    assert os.path.getsize(db + "-wal") == 0
    assert ext.checkpoints == 1 and ext.crawler.stats.get_value("govnews/wal_checkpoints") == 1


def test_a_reader_holding_a_snapshot_delays_it_until_it_lets_go(tmp_path):
    db = str(tmp_path / "a.db")
    writer = _writer(db)
    ext = _checkpoint(db)
    _grow(writer)
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    before = reader.execute("SELECT count(*) FROM t").fetchone()[0]  # the snapshot is now held
    _grow(writer)  # the writer is not blocked by the reader
    size = os.path.getsize(db + "-wal")
    ext.tick(timeout=0.01)
    assert ext.checkpoints == 0
    assert os.path.getsize(db + "-wal") >= size  # not truncated under a live snapshot
    assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == before  # the reader's view is intact
    reader.execute("COMMIT")
    ext.tick(timeout=0.01)
    assert ext.checkpoints == 1 and os.path.getsize(db + "-wal") == 0
    assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 400


def test_not_configured_without_an_archive():
    import pytest
    from scrapy.exceptions import NotConfigured

    with pytest.raises(NotConfigured):
        WalCheckpoint.from_crawler(get_crawler())
