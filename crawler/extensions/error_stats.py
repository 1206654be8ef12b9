"""Count downloader-level events that never reach the spider as govnews/errors/<kind> stats."""

from __future__ import annotations

from scrapy import signals


class ErrorStats:
    """Extension: count downloader-level events that never reach the spider (request_dropped for a
    redirect to an already fetched URL) as govnews/errors/<kind> stats, which the pipeline reports."""

    def __init__(self, crawler) -> None:
        self.stats = crawler.stats
        crawler.signals.connect(self.request_dropped, signal=signals.request_dropped)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def request_dropped(self, request, spider=None) -> None:
        if request.meta.get("redirect_urls"):
            self.stats.inc_value("govnews/errors/duplicate_redirect")
