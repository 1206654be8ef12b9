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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scrapy.settings import Settings

from archive.store import Archive, data_dir, utcnow
from crawler.errors import DiskFull, NotWritable, disk_full_message, is_disk_full, is_read_only
from crawler.sites import Site

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_DISK_FULL, EXIT_LOCKED = 0, 1, 2, 74, 75  # 74: sysexits' EX_IOERR

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
    overrides = dict(overrides or {})
    with _storage_errors(db), archive_lock(db):
        settings = crawl_settings(site, db, overrides)
        warc_dir = Path(settings.get("GOVNEWS_WARC_DIR") or data_dir(db, "warc"))
        log_dir = Path(settings.get("GOVNEWS_LOG_DIR") or data_dir(db, "logs"))
        log_dir.mkdir(parents=True, exist_ok=True)
        with Archive(db) as archive:
            interrupted, notes = recover(archive, warc_dir)
            run_id = archive.start_run(site.name, sys.argv)
            log_file = log_dir / f"{site.name}-{time.strftime('%Y%m%dT%H%M%S')}-run{run_id}.log"
            archive.update_run(run_id, log_file=str(log_file), pid=os.getpid())
        stats = _run_crawler(site, settings, run_id, warc_dir, log_file, notes, stderr_level)
        summary = dict(stats.get_value("govnews/summary") or {})
        summary["status"] = stats.get_value("govnews/status") or "failed"
        if not stats.get_value("govnews/status"):  # the crawl never got going (see the log): say so in crawl_runs
            with Archive(db) as archive:
                archive.finish_run(run_id, "failed", {"errors": {"crawl_failed": 1}})
    if stats.get_value("govnews/disk_full"):
        summary["disk_full"] = stats.get_value("govnews/disk_full")
        summary["run_unrecorded"] = bool(stats.get_value("govnews/run_unrecorded"))
    summary["run_id"] = run_id
    summary["log_file"] = str(log_file)
    summary["interrupted_runs"] = interrupted
    summary["finish_reason"] = stats.get_value("finish_reason")
    return summary


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


def _run_crawler(site: Site, settings: Settings, run_id: int, warc_dir: Path, log_file: Path, notes: list[str],
                 stderr_level: str):
    """Run the Scrapy crawl of the opened run; return its stats."""
    from scrapy.crawler import CrawlerProcess

    from crawler.spiders.news import NewsSpider

    settings.set("GOVNEWS_RUN_ID", run_id, priority="cmdline")
    settings.set("GOVNEWS_WARC_DIR", str(warc_dir), priority="cmdline")
    settings.set("GOVNEWS_LOG_FILE", str(log_file), priority="cmdline")
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    handlers = _log_handlers(settings, log_file, stderr_level)
    try:
        for note in notes:
            log.warning(note)
        process = CrawlerProcess(settings)
        crawler = process.create_crawler(NewsSpider)
        process.crawl(crawler, site=site)
        process.start()
    finally:
        for h in handlers:
            logging.root.removeHandler(h)
            h.close()
    return crawler.stats


def exit_code(summary: dict) -> int:
    if summary.get("disk_full"):
        return EXIT_DISK_FULL
    return EXIT_OK if summary.get("status") == "ok" else EXIT_PARTIAL


def summary_line(site: str, summary: dict) -> str:
    """The one line a crawl prints on stdout (cron mails it; scripts grep it)."""
    keys = ("new", "updated", "unchanged", "gone", "unlisted", "failed", "requests", "bytes")
    counts = " ".join(f"{k}={summary.get(k, 0)}" for k in keys)
    return f"{site}: {summary.get('status')} run={summary.get('run_id')} {counts} log={summary.get('log_file')}"
