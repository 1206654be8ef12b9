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


class BatchProgress:
    """For a run of several sites: one live line of sites done / running / waiting and the slowest site."""

    def __init__(self, crawlers: list, sites: list, settings, stream=None) -> None:
        self.crawlers, self.sites = crawlers, sites
        self.stream = stream or sys.stderr
        forced = settings.get("GOVNEWS_PROGRESS")
        self.enabled = self.stream.isatty() if forced is None else settings.getbool("GOVNEWS_PROGRESS")
        self.loop: task.LoopingCall | None = None

    def line(self) -> str:
        done = running = waiting = 0
        slowest, least = "", None
        for crawler, site in zip(self.crawlers, self.sites, strict=True):
            stats = crawler.stats
            if stats is None or not crawler.crawling and stats.get_value("start_time") is None:
                waiting += 1
            elif stats.get_value("finish_reason") is not None:
                done += 1
            else:
                running += 1
                fetched = stats.get_value("downloader/response_count", 0)
                if least is None or fetched < least:  # the running site that has fetched least so far
                    slowest, least = site.name, fetched
        tail = f" · slowest {slowest} ({least} responses)" if slowest else ""
        return f"sites done {done} · running {running} · waiting {waiting}{tail}"

    def show(self) -> None:
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()

    def start(self) -> None:
        if self.enabled:
            self.loop = task.LoopingCall(self.show)
            self.loop.start(0.5)

    def stop(self) -> None:
        if self.loop and self.loop.running:
            self.loop.stop()
            self.show()
            self.stream.write("\n")
            self.stream.flush()
