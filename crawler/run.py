"""Run a crawl of one site into an archive: the library call behind `govnews crawl`.

Built to run unattended from cron: one crawl per archive at a time (a lock file beside the database),
runs killed earlier are marked "interrupted" and their torn WARC tails set aside before anything new is
written, each run gets its own log file, and stderr stays quiet except for warnings.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scrapy.settings import Settings

from archive.health import flag_line
from archive.store import Archive, data_dir, utcnow
from crawler.errors import DiskFull, NotWritable, disk_full_message, is_disk_full, is_read_only
from crawler.sites import Site

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_DISK_FULL, EXIT_LOCKED = 0, 1, 2, 74, 75  # 74: sysexits' EX_IOERR
EXIT_HEALTH = 3  # the run finished and the health checks flagged the site (crawl_health; docs/operations.md)

log = logging.getLogger(__name__)


class Locked(RuntimeError):
    """Another crawl holds this archive's lock."""


@contextmanager
def archive_lock(db: str | Path) -> Iterator[Path]:
    """Hold `<db>.lock` (flock, released by the kernel even on kill -9) or raise Locked at once.

    The lock is beside the real file (symlinks resolved), so a crawl through another path to the same
    archive is refused too."""
    path = Path(f"{Path(db).resolve()}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise Locked(f"{db} is locked by a running crawl ({holder})") from None
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {utcnow()}\n")
        fh.flush()
        yield path
    finally:
        fh.close()  # the lock file stays: removing it would race with the next run taking it


def crawl_settings(site: Site, db: str | Path, overrides: dict | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    if not site.polite:
        settings.update(settings.getdict("FIXTURE_SETTINGS"), priority="project")
    settings.set("GOVNEWS_DB", str(db), priority="cmdline")
    settings.set("GOVNEWS_SITE", site, priority="cmdline")
    settings.set("GOVNEWS_ARGV", sys.argv, priority="cmdline")
    for k, v in (overrides or {}).items():
        settings.set(k, v, priority="cmdline")
    return settings


def recover(archive: Archive, warc_dir: Path) -> tuple[list[int], list[str]]:
    """Mark runs left 'running' by a kill as interrupted and move torn WARC tails aside (kept).

    Call it holding the lock, before starting a run. Returns the run ids and warnings to log.
    """
    from archive.warc import repair_torn_tail

    ids = archive.mark_interrupted_runs()
    notes = [f"run {i} was interrupted (killed before it finished); marked 'interrupted'" for i in ids]
    for run_id in ids:
        for path in sorted(warc_dir.glob(f"*-r{run_id:06d}-*.warc.gz")):
            moved = repair_torn_tail(path)
            if moved:
                notes.append(f"{path.name}: torn last record of interrupted run {run_id} ({moved} bytes) "
                             f"moved to {path.name}.torn-*")
    return ids, notes


class RunLogFile(logging.FileHandler):
    """The run's log file. On a full disk it stops writing, quietly: the crawl is stopping anyway and
    says why on stderr, instead of a `--- Logging error ---` block for every line."""

    broken = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.broken:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        if is_disk_full(sys.exc_info()[1] or Exception()):
            self.broken = True
            return
        super().handleError(record)

    def close(self) -> None:
        try:
            super().close()
        except OSError as e:  # flushing the last lines onto a full disk
            if not is_disk_full(e):
                raise


def _log_handlers(settings: Settings, log_file: Path, stderr_level: str) -> list[logging.Handler]:
    fmt = logging.Formatter(settings.get("LOG_FORMAT"), settings.get("LOG_DATEFORMAT"))
    to_file = RunLogFile(log_file, encoding="utf-8")
    to_file.setLevel(settings.get("GOVNEWS_LOG_FILE_LEVEL") or "INFO")
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setLevel(stderr_level)
    for h in (to_file, to_stderr):
        h.setFormatter(fmt)
        logging.root.addHandler(h)
    logging.root.setLevel(logging.NOTSET)
    return [to_file, to_stderr]


def crawl_site(site: Site, db: str | Path, overrides: dict | None = None, stderr_level: str = "WARNING") -> dict:
    """Crawl `site` into the archive at `db`; return the run's summary and status.

    Raises Locked when another crawl of this archive is running, DiskFull when the disk is full before
    the crawl starts (a full disk during the crawl stops it: status "failed", summary["disk_full"]),
    NotWritable when the archive cannot be written (a read-only file or filesystem).
    """
    return crawl_sites([site], db, overrides, stderr_level)[0]


def crawl_sites(sites: list[Site], db: str | Path, overrides: dict | None = None,
                stderr_level: str = "WARNING") -> list[dict]:
    """Crawl every site concurrently, in one process, into the archive at `db`; one summary per site.

    Each site is its own Scrapy crawler (its own downloader slots, politeness and incremental state),
    so a slow or broken site holds up no other; at most GOVNEWS_MAX_SITES crawl at once, the rest wait
    their turn. One lock for the whole run; one crawl_runs row per site, tied by their batch id (the
    first run's id). Raises Locked when another crawl of this archive is running, DiskFull as crawl_site.
    """
    overrides = dict(overrides or {})
    with _storage_errors(db), archive_lock(db):
        settings = crawl_settings(sites[0], db, overrides)
        warc_dir = Path(settings.get("GOVNEWS_WARC_DIR") or data_dir(db, "warc"))
        log_dir = Path(settings.get("GOVNEWS_LOG_DIR") or data_dir(db, "logs"))
        log_dir.mkdir(parents=True, exist_ok=True)
        with Archive(db) as archive:
            interrupted, notes = recover(archive, warc_dir)
            run_ids = [archive.start_run(site.name, sys.argv) for site in sites]
            name = sites[0].name if len(sites) == 1 else f"batch-{len(sites)}-sites"
            log_file = log_dir / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}-run{run_ids[0]}.log"
            for run_id in run_ids:
                archive.update_run(run_id, log_file=str(log_file), pid=os.getpid(), batch=run_ids[0])
        handlers = _log_handlers(settings, log_file, stderr_level)
        try:
            for note in notes:
                log.warning(note)
            if overrides.get("GOVNEWS_REDIS"):  # workers fetch; this process writes (crawler.distributed)
                crawlers = _run_distributed(sites, run_ids, db, overrides, warc_dir, log_file)
            else:
                crawlers = _run_crawlers(sites, run_ids, db, overrides, warc_dir, log_file)
        finally:
            for h in handlers:
                logging.root.removeHandler(h)
                h.close()
        # Inside the lock: a run that never got going is closed before another crawl can look at it.
        summaries = []
        for site, run_id, crawler in zip(sites, run_ids, crawlers, strict=True):
            stats = crawler.stats
            summary = dict((stats.get_value("govnews/summary") if stats else None) or {})
            summary["status"] = (stats.get_value("govnews/status") if stats else None) or \
                ("failed" if stats else "interrupted")
            if not (stats and stats.get_value("govnews/status")):
                # The crawl never got going (see the log), or was stopped before its turn: say so in crawl_runs.
                with Archive(db) as archive:
                    archive.finish_run(run_id, summary["status"], {"errors": {"crawl_failed": 1}} if stats else {})
            if stats and stats.get_value("govnews/disk_full"):
                summary["disk_full"] = stats.get_value("govnews/disk_full")
                summary["run_unrecorded"] = bool(stats.get_value("govnews/run_unrecorded"))
            summary.update(site=site.name, run_id=run_id, batch=run_ids[0], log_file=str(log_file),
                           interrupted_runs=interrupted, finish_reason=stats.get_value("finish_reason") if stats else None)
            summaries.append(summary)
    return summaries


def _run_distributed(sites: list[Site], run_ids: list[int], db: str | Path, overrides: dict, warc_dir: Path,
                     log_file: Path) -> list:
    """Each site in turn, spread over every worker; this process is the run's one writer."""
    from crawler.distributed.coordinator import crawl_distributed

    done = []
    for site, run_id in zip(sites, run_ids, strict=True):
        settings = crawl_settings(site, db, overrides)
        settings.set("GOVNEWS_RUN_ID", run_id, priority="cmdline")
        settings.set("GOVNEWS_LOG_FILE", str(log_file), priority="cmdline")
        done.append(crawl_distributed(site, settings, overrides["GOVNEWS_REDIS"]))
    return done


def _run_crawlers(sites: list[Site], run_ids: list[int], db: str | Path, overrides: dict, warc_dir: Path,
                  log_file: Path) -> list:
    """One Scrapy crawler per site in one reactor, at most GOVNEWS_MAX_SITES at a time."""
    from scrapy import signals
    from scrapy.crawler import Crawler, CrawlerProcess
    from twisted.internet import defer

    from crawler.progress import BatchProgress
    from crawler.spiders.news import NewsSpider

    crawlers = []
    for i, (site, run_id) in enumerate(zip(sites, run_ids, strict=True)):
        settings = crawl_settings(site, db, overrides)
        settings.set("GOVNEWS_RUN_ID", run_id, priority="cmdline")
        settings.set("GOVNEWS_WARC_DIR", str(warc_dir), priority="cmdline")
        settings.set("GOVNEWS_LOG_FILE", str(log_file), priority="cmdline")
        settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
        if len(sites) > 1:
            settings.set("GOVNEWS_PROGRESS", False, priority="cmdline")  # one batch line instead (below)
        crawlers.append(Crawler(NewsSpider, settings, init_reactor=i == 0))  # the first installs the reactor
    first = crawl_settings(sites[0], db, overrides)
    first.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    process = CrawlerProcess(first)
    stopping = []

    def crawl(crawler, site):
        if stopping:  # Ctrl-C or SIGTERM: sites still waiting are not started
            return None
        return process.crawl(crawler, site=site)

    def closed(spider=None, reason=None) -> None:
        if reason == "shutdown":
            stopping.append(True)

    slots = defer.DeferredSemaphore(max(1, first.getint("GOVNEWS_MAX_SITES", 32)))
    runs = [slots.run(crawl, crawler, site) for crawler, site in zip(crawlers, sites, strict=True)]
    progress = BatchProgress(crawlers, sites, first) if len(sites) > 1 else None
    for crawler in crawlers:
        crawler.signals.connect(closed, signal=signals.spider_closed)
    done = defer.DeferredList(runs, consumeErrors=True)

    def finished(result):
        if progress:
            progress.stop()
        from twisted.internet import reactor

        if reactor.running:
            reactor.stop()
        return result

    done.addBoth(finished)
    if progress:
        progress.start()
    process.start(stop_after_crawl=False)
    return crawlers


@contextmanager
def _storage_errors(path: str | Path) -> Iterator[None]:
    """Outside the crawl itself: "no space left" from the OS or SQLite becomes DiskFull, a write refused
    (read-only file or filesystem, no permission) NotWritable, each with a one-line message."""
    import sqlite3

    try:
        yield
    except (OSError, sqlite3.Error) as e:
        if is_disk_full(e):
            raise DiskFull(disk_full_message(e, path)) from None
        if is_read_only(e):
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise NotWritable(f"cannot write the archive {path} ({reason})") from None
        raise


def exit_code(summary: dict) -> int:
    if summary.get("disk_full"):
        return EXIT_DISK_FULL
    if summary.get("health"):  # outranks partial: the site changed under us
        return EXIT_HEALTH
    return EXIT_OK if summary.get("status") == "ok" else EXIT_PARTIAL


def total_line(summaries: list[dict]) -> str:
    """After a run of several sites: the totals, on one line after theirs."""
    keys = ("new", "updated", "unchanged", "gone", "unlisted", "failed", "requests", "bytes")
    counts = " ".join(f"{k}={sum(s.get(k, 0) or 0 for s in summaries)}" for k in keys)
    statuses = Counter(s.get("status") for s in summaries)
    return (f"total: {len(summaries)} sites ({', '.join(f'{n} {k}' for k, n in sorted(statuses.items()))}) "
            f"batch={summaries[0].get('batch') if summaries else '-'} {counts}")


def summary_line(site: str, summary: dict) -> str:
    """The one line a crawl prints on stdout (cron mails it; scripts grep it)."""
    keys = ("new", "updated", "unchanged", "gone", "unlisted", "failed", "requests", "bytes")
    counts = " ".join(f"{k}={summary.get(k, 0)}" for k in keys)
    flags = f" health={flag_line(summary['health'])}" if summary.get("health") else ""
    return f"{site}: {summary.get('status')} run={summary.get('run_id')} {counts}{flags} log={summary.get('log_file')}"
