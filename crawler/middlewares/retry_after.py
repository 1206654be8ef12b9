"""Scrapy's retries, honouring Retry-After (capped) and counting each retry."""

from __future__ import annotations

import logging
import time
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import response_status_message
from twisted.internet.task import deferLater

log = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """Parse a Retry-After header (delta seconds or an HTTP date) into seconds from now."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware (same bounded RETRY_TIMES), but a 429/503 with Retry-After waits that
    long before its retry; a Retry-After beyond GOVNEWS_RETRY_AFTER_MAX gives up at once instead.
    Retries of network errors are Scrapy's own (process_exception); every retry counts in retry/count,
    which the run reports as errors["retried"]."""

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.retry_after_max = settings.getfloat("GOVNEWS_RETRY_AFTER_MAX", 60.0)

    async def process_response(self, request, response, spider=None):
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        delay = retry_after_seconds(response.headers.get(b"Retry-After"))
        if delay is not None and delay > self.retry_after_max:
            log.warning("%s asks to retry after %.0f s (> GOVNEWS_RETRY_AFTER_MAX): giving up on %s",
                        response.status, delay, request.url)
            return response
        new = get_retry_request(
            request, spider=self.crawler.spider, reason=response_status_message(response.status),
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
            priority_adjust=request.meta.get("priority_adjust", self.priority_adjust),
            give_up_log_level=request.meta.get("give_up_log_level", self.give_up_log_level))
        if new is None:
            return response
        if delay:
            from twisted.internet import reactor

            await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))
        return new
