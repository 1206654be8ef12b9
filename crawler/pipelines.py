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
        self.run_id = self.archive.start_run(self.site.name, self.argv, self.log_file)
        self.crawler.stats.set_value("govnews/run_id", self.run_id)

    def _section(self, name: str | None) -> Counter[str]:
        return self.per_section.setdefault(name or "-", Counter())

    def process_item(self, item: dict) -> dict:
        kind = item["kind"]
        if kind == "listing":
            urls = [i["url"] for i in item["items"]]
            self.archive.link_sections(self.section_ids[item["section"]], urls)
            self._section(item["section"])["listing_pages"] += 1
        elif kind == "article":
            outcome = self.archive.save_article(item["record"], self.run_id)
            self.counts[outcome] += 1
            self._section(item["section"])[outcome] += 1
        elif kind == "error":
            self.errors[item["error"]] += 1
            section = self._section(item["section"])
            section[item["error"]] += 1
            detail = f" — {item['detail']}" if item.get("detail") else ""
            if is_failure(item["error"]):
                self.counts["failed"] += 1
                section["errors"] += 1
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
            "errors": dict(errors), "sections": {k: dict(v) for k, v in self.per_section.items()},
        }

    def finish_run(self, spider, reason: str) -> None:
        summary = self.summary()
        status = "ok" if reason == "finished" and not summary["failed"] else (
            "partial" if reason == "finished" else reason)
        self.archive.finish_run(self.run_id, status, summary)
        self.crawler.stats.set_value("govnews/status", status)
        self.crawler.stats.set_value("govnews/summary", summary)
        self.archive.close()
