"""The archive writer: the crawl's one item pipeline and the one owner of its SQLite connection.

One per crawl (`ArchiveWriter.of(crawler)`; Scrapy builds it as the item pipeline): it opens the archive once (migrations and index checks run
once), records the site, opens or adopts the crawl_runs row, reads what the frontier needs, and then
writes everything the crawl produces — the typed items the pipeline hands it, the WARC capture index
rows the capture middleware hands it, the walks' outcomes — and finishes the run. Writes are batched:
one transaction every GOVNEWS_COMMIT_ITEMS writes or GOVNEWS_COMMIT_SECONDS seconds, on one connection
per archive file shared by every site crawled in the process (crawler.batch, which says why a kill -9
still loses nothing the next run cannot fetch again); each write is a savepoint in it.
WAL checkpoints run on this connection too (crawler.extensions.wal_checkpoint).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import weakref
from collections import Counter

from scrapy import signals

from archive import coverage, health
from archive.store import Archive
from crawler.batch import DEFAULT_ITEMS, DEFAULT_SECONDS, Batch
from crawler.errors import disk_full_message, is_disk_full, is_failure
from crawler.items import (
    Article,
    AttachmentFile,
    CrawlError,
    ListingPage,
    Missing,
    NotModified,
    PageResource,
    WalkEnded,
)

log = logging.getLogger(__name__)


class ArchiveWriter:
    _writers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, crawler) -> ArchiveWriter:
        """The crawl's one writer, made on first use."""
        writer = cls._writers.get(crawler)
        if writer is None:
            writer = cls._writers[crawler] = cls(crawler)
        return writer

    @classmethod
    def from_crawler(cls, crawler) -> ArchiveWriter:
        """As the item pipeline (ITEM_PIPELINES): the same one writer."""
        writer = cls.of(crawler)
        # Finish the run on spider_closed, which carries the close reason (close_spider does not).
        crawler.signals.connect(writer.spider_closed, signal=signals.spider_closed)
        return writer

    # -- the item pipeline --------------------------------------------------------------------------
    def open_spider(self) -> None:
        from twisted.internet import task

        self.open_run(self.crawler.spider.site)
        # A quiet crawl (polite, one page a second) commits on time, not only when the next write comes.
        self._ticker = task.LoopingCall(self.commit_due)
        self._ticker.start(max(0.1, self.commit_seconds), now=False)

    def process_item(self, item):
        self.write(item)
        return item

    def spider_closed(self, spider=None, reason: str = "finished") -> None:
        if self._ticker is not None and self._ticker.running:
            self._ticker.stop()
        self.finish_run(reason)
        self.close()

    def __init__(self, crawler) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.db_path = s.get("GOVNEWS_DB")
        self.run_id: int | None = s.getint("GOVNEWS_RUN_ID") or None
        self.argv, self.log_file = s.getlist("GOVNEWS_ARGV"), s.get("GOVNEWS_LOG_FILE")
        self.max_attempts = s.getint("GOVNEWS_MAX_ATTEMPTS", 3)
        self.refresh = s.getbool("GOVNEWS_REFRESH")
        self.commit_items = s.getint("GOVNEWS_COMMIT_ITEMS", DEFAULT_ITEMS)
        self.commit_seconds = s.getfloat("GOVNEWS_COMMIT_SECONDS", DEFAULT_SECONDS)
        self._batch: Batch | None = None
        self._archive: Archive | None = None
        self._ticker = None
        self.site = None
        self.state: dict | None = None
        self.section_ids: dict[str, int] = {}
        self.walks: dict[str, bool] = {}  # section -> walk complete? (written when the run finishes)
        self.counts: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.per_section: dict[str, Counter] = {}
        self.stops: dict[str, str] = {}
        self.full: str | None = None  # set when a write found the disk full: the crawl is stopping

    @property
    def archive(self) -> Archive:
        if self._archive is None:
            if not self.db_path:
                raise RuntimeError("GOVNEWS_DB is not set: no archive to write")
            self._batch = Batch.acquire(self.db_path, self.commit_items, self.commit_seconds)
            self._archive = self._batch.archive
        return self._archive

    @property
    def batch(self) -> Batch:
        self.archive  # noqa: B018 (opens it)
        assert self._batch is not None
        return self._batch

    def commit(self) -> None:
        """Commit the writes so far (a crash-safe point); a full disk stops the crawl as a write would."""
        if self._batch is None or self.full:
            return
        try:
            self._batch.commit()
        except (OSError, sqlite3.Error) as e:
            if not is_disk_full(e):
                raise
            self.disk_full(e, self.db_path)

    def commit_due(self) -> None:
        if self._batch is not None and self._batch.due():
            self.commit()

    def transaction(self):
        """A transaction the caller holds and commits (the distributed writer's batch, acknowledged after)."""
        return self.batch.transaction()

    # -- the run ------------------------------------------------------------------------------------
    def open_run(self, site) -> dict | None:
        """Record the site, open the run (`govnews crawl` opened it under the lock already), read the
        frontier's state and mark the walks as in progress. Returns the state (None: the disk is full)."""
        if self.state is not None or self.full:
            return self.state
        self.site = site
        try:
            self._reserve_space()
            self.section_ids = self.archive.save_site(site)
            if not self.run_id:
                self.run_id = self.archive.start_run(site.name, self.argv, self.log_file)
            self.crawler.stats.set_value("govnews/run_id", self.run_id)
            # --refresh also tries again the listed pages that were given up on after max_attempts runs.
            state = self.archive.incremental_state(site.name, 1 << 30 if self.refresh else self.max_attempts)
            self.archive.begin_walks(list(self.section_ids.values()), self.run_id)
            self.batch.commit()  # the run is open and its walks marked: durable before anything is fetched
        except (OSError, sqlite3.Error) as e:
            if not is_disk_full(e):
                raise
            self.disk_full(e, self.db_path)
            return None
        self.state = state
        return self.state

    def finish_run(self, reason: str) -> dict:
        summary = self.summary()
        if self.run_id is not None and self.site is not None and not self.full:
            try:  # what the archive holds per section, beside what the section states (coverage)
                for name, held in coverage.holdings(self.archive.db, self.site.name).items():
                    if name in self.section_ids:
                        summary["sections"].setdefault(name, {})["held"] = held
            except (OSError, sqlite3.Error) as e:
                if not is_disk_full(e):
                    raise
                self.disk_full(e, self.db_path)
        # "shutdown" is Ctrl-C or SIGTERM; a kill -9 leaves "running", marked "interrupted" by the next run.
        status = "ok" if reason == "finished" and not summary["failed"] else (
            "partial" if reason == "finished" else "interrupted" if reason == "shutdown" else reason)
        if self.full:  # stopped early: every walk is incomplete, so the next run walks each to its end
            status, self.walks = "failed", {}
            summary["errors"] = {**summary["errors"], "disk_full": 1}
        self.crawler.stats.set_value("govnews/status", status)
        self.crawler.stats.set_value("govnews/summary", summary)
        if self.run_id is None:
            return summary
        try:
            # Only now is every item stored: walks that never ended stay incomplete.
            self.archive.end_walks({sid: self.walks.get(name, False) for name, sid in self.section_ids.items()},
                                   self.run_id)
            self.archive.finish_run(self.run_id, status, summary)
            self.batch.commit()
            self.check_health(summary)
        except (OSError, sqlite3.Error) as e:
            if not is_disk_full(e):
                raise
            self.disk_full(e, self.db_path)
            # The walks were marked walking at the start: the next run walks them to the end anyway.
            # Without room for the run row it stays 'running', and the next run marks it interrupted.
            self.crawler.stats.set_value("govnews/run_unrecorded", True)
        return summary

    def check_health(self, summary: dict) -> None:
        """The health checks on the finished run (archive/health.py): flags into crawl_health, the log
        and the summary (`health`), which the command's summary line and exit code read."""
        s = self.crawler.settings
        if not s.getbool("GOVNEWS_HEALTH", True):
            return
        th = health.Thresholds(missing_share=s.getfloat("GOVNEWS_HEALTH_MISSING_SHARE", 0.3),
                               fill_drop=s.getfloat("GOVNEWS_HEALTH_FILL_DROP", 0.3),
                               min_articles=s.getint("GOVNEWS_HEALTH_MIN_ARTICLES", 5),
                               min_fill=s.getint("GOVNEWS_HEALTH_MIN_FILL", 10),
                               history=s.getint("GOVNEWS_HEALTH_HISTORY", 10))
        flags = health.check_run(self.archive.db, self.run_id, th)
        for f in flags:
            log.warning("health: %s in %s / %s: %s", f.flag, f.site, f.section, f.detail)
        summary["health"] = [f.as_dict() for f in flags]
        self.crawler.stats.set_value("govnews/summary", summary)

    def disk_full(self, exc: BaseException, path: object) -> None:
        """A write found the disk full: stop the crawl now (once). What is still in flight is not written
        (the next run fetches it again); the run is recorded `failed` with the error kind disk_full."""
        if self.full:
            return
        self.full = disk_full_message(exc, path)
        self._release_space()  # room for the last writes: the run row and the walks' outcomes
        self.crawler.stats.set_value("govnews/disk_full", self.full)
        log.info("%s: stopping the crawl", self.full)  # the command prints the one line on stderr
        engine = getattr(self.crawler, "engine", None)
        if engine is not None and getattr(engine, "spider", None) is not None:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(engine.close_spider_async(reason="disk_full"))

    RESERVE = 256 * 1024  # bytes held beside the archive while it is written, given back on a full disk

    def _reserve_space(self) -> None:
        """Hold a little room on the archive's filesystem (`<db>.reserve`), so that a crawl that fills
        the disk can still record how it ended (WARC files and logs may be on the same filesystem)."""
        self.reserve = f"{self.db_path}.reserve"
        with open(self.reserve, "wb") as fh:
            fh.write(bytes(self.RESERVE))
            fh.flush()
            os.fsync(fh.fileno())

    def _release_space(self) -> None:
        reserve = getattr(self, "reserve", None)
        if reserve:
            self.reserve = None
            try:
                os.unlink(reserve)
            except OSError:
                pass

    def close(self) -> None:
        self._release_space()
        if self._batch is not None:
            batch, self._batch, self._archive = self._batch, None, None
            try:
                batch.release()
            except (OSError, sqlite3.Error) as e:
                if not is_disk_full(e):
                    raise
                self.disk_full(e, self.db_path)

    # -- items --------------------------------------------------------------------------------------
    def write(self, item) -> None:
        handler = self._handlers.get(type(item))
        if handler is None:
            raise TypeError(f"the archive writer has no rule for {type(item).__name__}")
        if self.full:
            return  # the disk is full and the crawl stopping: nothing more is written
        try:
            with self.batch.write():
                handler(self, item)
        except (OSError, sqlite3.Error) as e:
            if not is_disk_full(e):
                raise
            self.disk_full(e, self.db_path)

    def _listing(self, item: ListingPage) -> None:
        self.archive.link_sections(self.section_ids[item.section], [i["url"] for i in item.items], self.run_id)
        self._count(item.section, "listing_pages")
        if item.browser:
            self._section(item.section)["browser_listing_pages"] += 1

    def _article(self, item: Article) -> None:
        self._count(item.section, self.archive.save_article(item.record, self.run_id))
        flags = item.record.get("quality_flags") or ()  # extraction quality, counted per section in crawl_runs
        section = self._section(item.section)
        section.update(health.article_facts(item.record))  # what the fill checks compare (archive/health.py)
        if flags:
            section["flagged"] += 1
        for flag in flags:
            section[f"flag_{flag}"] += 1

    def _not_modified(self, item: NotModified) -> None:
        self.archive.mark_not_modified(item.url, self.run_id)
        self._count(item.section, "unchanged")
        self._count(item.section, "not_modified")

    def _missing(self, item: Missing) -> None:
        outcome = self.archive.mark_missing(item.url, item.status, self.run_id)
        self._count(item.section, outcome)
        if outcome == "gone":
            log.warning("gone: %s (answered %s on %d runs in a row)", item.url, item.status, 2)

    def _attachment(self, item: AttachmentFile) -> None:
        info = {"status": item.status, "mime": item.mime, "size": item.size, "sha256": item.sha256, **item.capture}
        self.archive.save_attachment_file(item.url, info, self.run_id)
        if item.status == "ok":
            self._count(item.section, "attachments")

    def _resource(self, item: PageResource) -> None:
        self._count(item.section, "resources")  # its capture row is written by crawler.capture
        self.counts["resource_bytes"] += item.size
        if item.url in (self.state or {}).get("resources_pending", ()):  # failed in an earlier run
            self.archive.resolve_failure(item.url, self.run_id)

    def _walk_ended(self, item: WalkEnded) -> None:
        self.walks[item.section] = item.complete
        self.stops[item.section] = item.stop
        record = self._section(item.section)
        record["stop"] = item.stop
        # The walk's outcome and the section's own stated size, for coverage and the health checks.
        facts = {"walk": "complete" if item.complete else "incomplete", "reached_end": item.reached_end,
                 "listed": len(item.listed), "walk_pages": item.pages,
                 "stated_items": item.stated_items, "stated_pages": item.stated_pages}
        for key, value in facts.items():  # set, not counted (a Counter's update would add)
            if value is not None:
                record[key] = value
        self.crawler.stats.inc_value("govnews/sections_done")
        if item.complete and item.reached_end:
            unlisted = self.archive.mark_unlisted(self.section_ids[item.section], item.listed)
            if unlisted:
                self.crawler.stats.inc_value("govnews/unlisted", len(unlisted))
                log.info("section %s: %d archived articles are no longer listed", item.section, len(unlisted))
        log.info("section %s: walk %s, stopped: %s", item.section, "complete" if item.complete else "incomplete",
                 item.stop)

    def _error(self, item: CrawlError) -> None:
        self.errors[item.error] += 1
        section = self._section(item.section)
        section[item.error] += 1
        if item.error == "empty_article":  # a page with no body: an article the fill checks count as empty
            section["fill_articles"] += 1
        detail = f" — {item.detail}" if item.detail else ""
        if is_failure(item.error):
            self.counts["failed"] += 1
            section["errors"] += 1
            self.crawler.stats.inc_value("govnews/failed")  # read by the progress line
            if item.what in ("article", "attachment"):  # not archived: retried in at most max_attempts runs
                self.archive.record_failure(item.url, self.site.name, item.what, item.error, self.run_id)
            log.warning("%s: %s (%s)%s", item.error, item.url, item.section, detail)
        else:  # refused by policy (robots.txt, off-site, a listing trap cut short), or a page resource
            if item.error.startswith("resource_") and is_failure(item.error.removeprefix("resource_")):
                # a page resource not fetched (404, timeout, …): tried again by the next runs, within the cap
                self.archive.record_failure(item.url, self.site.name, item.what, item.error, self.run_id)
            log.info("%s: %s (%s)%s", item.error, item.url, item.section, detail)

    _handlers = {ListingPage: _listing, Article: _article, NotModified: _not_modified, Missing: _missing,
                 AttachmentFile: _attachment, PageResource: _resource, WalkEnded: _walk_ended, CrawlError: _error}

    # -- raw captures (from crawler.capture) ---------------------------------------------------------
    def original_capture(self, digest: str) -> dict | None:
        return self.archive.original_capture(digest)

    def save_capture(self, url: str, kind: str | None, status: int, mime: str | None, size: int, capture,
                     request=None) -> None:
        with self.batch.write():  # errors go to the capture middleware, which stops on a full disk
            self.archive.save_capture(self.run_id, url, kind, status, mime, size, capture)

    # -- the write-ahead log (from crawler.extensions.wal_checkpoint) ---------------------------------
    def checkpoint(self, timeout: float) -> bool:
        """TRUNCATE checkpoint, waiting at most `timeout` s for readers; True when it completed."""
        self.commit()  # a checkpoint copies committed pages only
        conn = self.archive.db.conn
        conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        try:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.execute("PRAGMA busy_timeout=30000")
        return not busy

    # -- counts -------------------------------------------------------------------------------------
    def _section(self, name: str | None) -> Counter:
        return self.per_section.setdefault(name or "-", Counter())

    def _count(self, section: str | None, outcome: str) -> None:
        self.counts[outcome] += 1
        self._section(section)[outcome] += 1
        self.crawler.stats.inc_value(f"govnews/{outcome}")  # read by the progress line

    def summary(self) -> dict:
        stats = self.crawler.stats
        errors = Counter(self.errors)
        # Downloader-level components (retries, dropped redirects) count into govnews/errors/<kind>.
        for key, value in stats.get_stats().items():
            if key.startswith("govnews/errors/"):
                errors[key.removeprefix("govnews/errors/")] += value
        if stats.get_value("retry/count"):  # Scrapy's retries (RetryAfterMiddleware and network errors)
            errors["retried"] += stats.get_value("retry/count")
        return {
            "requests": stats.get_value("downloader/request_count", 0),
            "bytes": stats.get_value("downloader/response_bytes", 0),
            "new": self.counts["new"], "updated": self.counts["updated"],
            "unchanged": self.counts["unchanged"], "failed": self.counts["failed"],
            "not_modified": self.counts["not_modified"], "gone": self.counts["gone"],
            "unlisted": stats.get_value("govnews/unlisted", 0), "listing_pages": self.counts["listing_pages"],
            "attachments": self.counts["attachments"], "resources": self.counts["resources"],
            "resource_bytes": self.counts["resource_bytes"], "warc_files": self.archive.run_warc_files(self.run_id),
            "requeued": stats.get_value("govnews/requeued", 0),
            "errors": dict(errors), "sections": {k: dict(v) for k, v in self.per_section.items()},
        }
