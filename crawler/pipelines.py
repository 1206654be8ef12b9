"""Write everything the spider yields into the archive, and keep the crawl_runs row up to date."""

from __future__ import annotations

import logging
from collections import Counter

from scrapy import signals

from archive.store import Archive
from crawler.errors import is_failure

log = logging.getLogger(__name__)


class ArchivePipeline:
    """Items are dicts with a "kind": listing (section membership), article (a record) or error."""

    def __init__(self, db_path: str, site, argv: list[str], log_file: str | None) -> None:
        self.db_path, self.site, self.argv, self.log_file = db_path, site, argv, log_file
        self.counts: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.per_section: dict[str, Counter[str]] = {}

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        pipe = cls(s.get("GOVNEWS_DB"), s.get("GOVNEWS_SITE"), s.getlist("GOVNEWS_ARGV"), s.get("GOVNEWS_LOG_FILE"))
        pipe.crawler = crawler
        # Finish the run on spider_closed, which carries the close reason (close_spider does not).
        crawler.signals.connect(pipe.finish_run, signal=signals.spider_closed)
        return pipe

    def open_spider(self) -> None:
        self.archive = Archive(self.db_path)
        self.section_ids = self.archive.save_site(self.site)
        # `govnews crawl` opens the run itself (under the archive lock, before logging starts).
        self.run_id = self.crawler.settings.getint("GOVNEWS_RUN_ID") or \
            self.archive.start_run(self.site.name, self.argv, self.log_file)
        self.crawler.stats.set_value("govnews/run_id", self.run_id)

    def _section(self, name: str | None) -> Counter[str]:
        return self.per_section.setdefault(name or "-", Counter())

    def _count(self, section: str | None, outcome: str) -> None:
        self.counts[outcome] += 1
        self._section(section)[outcome] += 1
        self.crawler.stats.inc_value(f"govnews/{outcome}")  # read by the progress line

    def process_item(self, item: dict) -> dict:
        kind = item["kind"]
        if kind == "listing":
            urls = [i["url"] for i in item["items"]]
            self.archive.link_sections(self.section_ids[item["section"]], urls, self.run_id)
            self._count(item["section"], "listing_pages")
        elif kind == "article":
            outcome = self.archive.save_article(item["record"], self.run_id)
            self._count(item["section"], outcome)
        elif kind == "not_modified":  # a conditional refetch answered 304
            self.archive.mark_not_modified(item["url"], self.run_id)
            self._count(item["section"], "unchanged")
            self._count(item["section"], "not_modified")
        elif kind == "missing":  # 404/410 or a redirect to an index page; gone on the second run
            outcome = self.archive.mark_missing(item["url"], item["status"], self.run_id)
            self._count(item["section"], outcome)
            if outcome == "gone":
                log.warning("gone: %s (answered %s on %d runs in a row)", item["url"], item["status"], 2)
        elif kind == "attachment_file":
            self.archive.save_attachment_file(item["url"], item, self.run_id)
            if item["status"] == "ok":
                self._count(item["section"], "attachments")
        elif kind == "error":
            self.errors[item["error"]] += 1
            section = self._section(item["section"])
            section[item["error"]] += 1
            detail = f" — {item['detail']}" if item.get("detail") else ""
            if is_failure(item["error"]):
                self.counts["failed"] += 1
                section["errors"] += 1
                self.crawler.stats.inc_value("govnews/failed")  # read by the progress line
                if item.get("what") == "article":  # listed but not archived: retried on later runs
                    self.archive.record_failure(item["url"], self.site.name, item.get("what"), item["error"],
                                                self.run_id)
                log.warning("%s: %s (%s)%s", item["error"], item["url"], item.get("section"), detail)
            else:  # refused by policy (robots.txt, off-site, a listing trap cut short): counted, not failed
                log.info("%s: %s (%s)%s", item["error"], item["url"], item.get("section"), detail)
        return item

    def summary(self) -> dict:
        stats = self.crawler.stats
        errors = Counter(self.errors)
        # Downloader-level components (retries, dropped redirects) count into govnews/errors/<kind>.
        for key, value in stats.get_stats().items():
            if key.startswith("govnews/errors/"):
                errors[key.removeprefix("govnews/errors/")] += value
        return {
            "requests": stats.get_value("downloader/request_count", 0),
            "bytes": stats.get_value("downloader/response_bytes", 0),
            "new": self.counts["new"], "updated": self.counts["updated"],
            "unchanged": self.counts["unchanged"], "failed": self.counts["failed"],
            "not_modified": self.counts["not_modified"], "gone": self.counts["gone"],
            "unlisted": stats.get_value("govnews/unlisted", 0), "listing_pages": self.counts["listing_pages"],
            "attachments": self.counts["attachments"], "warc_files": self.archive.run_warc_files(self.run_id),
            "errors": dict(errors), "sections": {k: dict(v) for k, v in self.per_section.items()},
        }

    def finish_run(self, spider, reason: str) -> None:
        summary = self.summary()
        # "shutdown" is Ctrl-C or SIGTERM; a kill -9 leaves "running", marked "interrupted" by the next run.
        status = "ok" if reason == "finished" and not summary["failed"] else (
            "partial" if reason == "finished" else "interrupted" if reason == "shutdown" else reason)
        self.archive.finish_run(self.run_id, status, summary)
        self.crawler.stats.set_value("govnews/status", status)
        self.crawler.stats.set_value("govnews/summary", summary)
        self.archive.close()
