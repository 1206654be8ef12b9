"""The spider a distributed worker runs: NewsSpider's fetching and extraction, with the decisions left
to the coordinator (crawler.distributed.coordinator), which owns the walk and the frontier.

Every callback's whole output becomes one Envelope for the request it answers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.distributed.records import ArticleResult, Envelope, ListingFailed, ListingResult, ResourceWanted
from crawler.items import CrawlError
from crawler.resources import Resource
from crawler.sites import Section
from crawler.spiders.news import NewsSpider

log = logging.getLogger(__name__)


def envelope(request, items: list) -> Envelope:
    return Envelope(request.meta.get("govnews_token", ""), items, list(request.meta.get("govnews_capture_rows") or []),
                    held=request.meta.get("govnews_held"))


class WorkerSpider(NewsSpider):
    name = "news-worker"

    async def start(self) -> AsyncIterator:
        return  # the requests come from the shared Redis queue
        yield

    # -- decisions: sent to the coordinator ------------------------------------------------------------
    def after_listing(self, section: Section, url: str, page: int, listing: dict) -> Iterator:
        yield ListingResult(section, url, page, listing)

    def after_listing_failure(self, section: str) -> Iterator:
        yield ListingFailed(section)

    def after_article(self, section: Section, record: dict) -> Iterator:
        yield ArticleResult(section, record)

    def resource_request(self, res: Resource, section: str | None, depth: int) -> ResourceWanted:
        return ResourceWanted(res, section, depth)  # the coordinator requests it (crawler.resources)

    # -- every callback: one envelope --------------------------------------------------------------------
    def _crashed(self, response: Response, e: Exception) -> list:
        log.error("parse_error on %s: %r", response.url, e, exc_info=e)
        return [CrawlError(response.meta.get("section"), response.url, "parse_error", response.meta.get("govnews_kind"))]

    def parse_listing(self, response: Response, section: Section, page: int) -> Iterator:
        try:
            items = list(super().parse_listing(response, section, page))
        except Exception as e:  # noqa: BLE001 - any crash is this page's parse_error
            items = [*self._crashed(response, e), ListingFailed(section.name)]
        yield envelope(response.request, items)

    async def _collect(self, response: Response, outputs) -> list:
        try:
            return [o async for o in outputs]
        except Exception as e:  # noqa: BLE001
            return self._crashed(response, e)

    async def parse_article(self, response: Response, section: Section, list_item: dict) -> AsyncIterator:
        yield envelope(response.request, await self._collect(response, super().parse_article(response, section, list_item)))

    async def parse_known(self, response: Response, section: Section, list_item: dict) -> AsyncIterator:
        yield envelope(response.request, await self._collect(response, super().parse_known(response, section, list_item)))

    def parse_attachment(self, response: Response) -> Iterator:
        yield envelope(response.request, list(super().parse_attachment(response)))

    def parse_resource(self, response: Response) -> Iterator:
        yield envelope(response.request, list(super().parse_resource(response)))

    def resource_failed(self, failure: Failure) -> Iterator:
        yield envelope(failure.request, list(super().resource_failed(failure)))

    def on_error(self, failure: Failure) -> Iterator:
        yield envelope(failure.request, list(super().on_error(failure)))

    def listing_failed(self, failure: Failure) -> Iterator:
        yield envelope(failure.request, [*NewsSpider.on_error(self, failure), ListingFailed(failure.request.meta["section"])])

    def attachment_failed(self, failure: Failure) -> Iterator:
        yield envelope(failure.request, list(super().attachment_failed(failure)))
