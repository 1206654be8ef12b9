"""Keep the archive's -wal file small while the crawl writes and Datasette reads."""

from __future__ import annotations

import logging
import os
import sqlite3
import time

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.writer import ArchiveWriter

log = logging.getLogger(__name__)


class WalCheckpoint:
    """Extension: keep the archive's -wal file small while the crawl writes and Datasette reads.

    SQLite's automatic checkpoints are PASSIVE and never shrink the file; a reader that is always
    busy can starve them and the WAL grows. After each item the pipeline wrote (at most every 0.1 s)
    and every GOVNEWS_WAL_CHECK_INTERVAL seconds, if the -wal file is over GOVNEWS_WAL_MAX_BYTES, the
    archive writer runs a TRUNCATE checkpoint on its connection with a short busy timeout (it waits
    only for in-flight reads; a busy attempt is simply tried again later).
    """

    MIN_GAP = 0.1  # seconds between two checkpoint attempts

    def __init__(self, crawler, db: str, max_bytes: int, interval: float) -> None:
        self.crawler, self.db, self.max_bytes, self.interval = crawler, db, max_bytes, interval
        self.archive_writer = ArchiveWriter.of(crawler)
        self.wal = db + "-wal"
        self.task = None
        self.checkpoints = 0
        self._last = 0.0
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)
        crawler.signals.connect(self.written, signal=signals.item_scraped)

    @classmethod
    def from_crawler(cls, crawler):
        db = crawler.settings.get("GOVNEWS_DB")
        if not db:
            raise NotConfigured
        return cls(crawler, str(db), crawler.settings.getint("GOVNEWS_WAL_MAX_BYTES", 8 * 1024 * 1024),
                   crawler.settings.getfloat("GOVNEWS_WAL_CHECK_INTERVAL", 1.0))

    def opened(self, spider=None) -> None:
        from twisted.internet import task

        self.task = task.LoopingCall(self.tick)
        self.task.start(self.interval, now=False)

    def written(self, item=None, response=None, spider=None) -> None:
        if time.monotonic() - self._last >= self.MIN_GAP:
            self.tick(timeout=0.05)  # between items: wait less for readers, the next item tries again

    def tick(self, timeout: float = 0.25) -> None:
        try:
            size = os.path.getsize(self.wal)
        except OSError:
            return
        if size <= self.max_bytes:
            return
        self._last = time.monotonic()
        try:
            done = self.archive_writer.checkpoint(timeout)
        except sqlite3.Error as e:
            log.debug("WAL checkpoint skipped: %s", e)
            return
        if done:
            self.checkpoints += 1
            self.crawler.stats.inc_value("govnews/wal_checkpoints")

    def closed(self, spider=None, reason=None) -> None:
        if self.task and self.task.running:
            self.task.stop()
