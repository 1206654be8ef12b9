"""A live progress line on a terminal; nothing at all when stderr is not one (cron, pipes)."""

from __future__ import annotations

import sys

from scrapy import signals
from twisted.internet import task


class ProgressLine:
    def __init__(self, crawler, stream=None) -> None:
        self.crawler = crawler
        self.stream = stream or sys.stderr
        forced = crawler.settings.get("GOVNEWS_PROGRESS")
        self.enabled = self.stream.isatty() if forced is None else crawler.settings.getbool("GOVNEWS_PROGRESS")
        self.site = getattr(crawler.settings.get("GOVNEWS_SITE"), "name", "")
        self.sections = len(getattr(crawler.settings.get("GOVNEWS_SITE"), "sections", ()) or ())
        self.loop: task.LoopingCall | None = None
        if self.enabled:
            crawler.signals.connect(self.start, signal=signals.spider_opened)
            crawler.signals.connect(self.stop, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def line(self) -> str:
        v = self.crawler.stats.get_value
        errors = v("govnews/failed", 0)
        return (f"{self.site}: sections {v('govnews/sections_done', 0)}/{self.sections} · "
                f"listing pages {v('govnews/listing_pages', 0)} · new {v('govnews/new', 0)} · "
                f"updated {v('govnews/updated', 0)} · unchanged {v('govnews/unchanged', 0)} · "
                f"gone {v('govnews/gone', 0)} · errors {errors} · requests {v('downloader/request_count', 0)}")

    def show(self) -> None:
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()

    def start(self, spider=None) -> None:
        self.loop = task.LoopingCall(self.show)
        self.loop.start(0.5)

    def stop(self, spider=None, reason=None) -> None:
        if self.loop and self.loop.running:
            self.loop.stop()
        self.show()
        self.stream.write("\n")
        self.stream.flush()
