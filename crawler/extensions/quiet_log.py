"""Keep network failures to one warning line each: no Scrapy tracebacks or duplicate errors under cron."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import signals

from crawler.errors import error_kind

ROBOTS_LOGGER = "scrapy.downloadermiddlewares.robotstxt"
RETRY_LOGGER = "scrapy.downloadermiddlewares.retry"


class NetworkLogFilter(logging.Filter):
    """A robots.txt that cannot be fetched (refused, DNS failure, timeout) is one WARNING line, not an
    ERROR with two tracebacks; Scrapy's "Gave up retrying" goes to the log file only (INFO), since the
    failure itself is a WARNING line of its kind from the archive writer."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == RETRY_LOGGER and record.levelno >= logging.ERROR:
            record.levelno, record.levelname = logging.INFO, "INFO"
        elif record.name == ROBOTS_LOGGER and record.exc_info:
            exc = record.exc_info[1]
            request = record.args.get("request") if isinstance(record.args, dict) else None
            where = urlsplit(request.url).netloc if request is not None else "a host"
            record.msg = "robots.txt of %s not fetched (%s: %s): crawling as if it allowed everything"
            record.args = (where, error_kind(exc) if exc else "error", exc)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class QuietNetworkLog:
    """Extension: install NetworkLogFilter on Scrapy's robots.txt and retry loggers for the crawl."""

    def __init__(self, crawler) -> None:
        self.filter = NetworkLogFilter()
        self.loggers = [logging.getLogger(ROBOTS_LOGGER), logging.getLogger(RETRY_LOGGER)]
        for logger in self.loggers:
            logger.addFilter(self.filter)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def engine_stopped(self) -> None:
        for logger in self.loggers:
            logger.removeFilter(self.filter)
