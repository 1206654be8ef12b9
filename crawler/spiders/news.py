"""The generic news spider: walk every section listing, every listing page, every article.

It stays thin: listing and article extraction are pure functions (crawler.listing, crawler.extract),
and everything it yields is written by crawler.pipelines.ArchivePipeline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import scrapy
from scrapy import signals
from scrapy.http import Response
from twisted.python.failure import Failure

from archive.store import utcnow
from crawler.errors import error_kind
from crawler.extractpool import Extractor
from crawler.listing import extract_listing
from crawler.listing.shell import ANTI_BOT_STATUS
from crawler.listing.walk import SectionWalk
from crawler.sites import Section, Site


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(self, site: Site, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.site = site
        self.allowed_domains = list(site.allowed_hosts)
        self.walks: dict[str, SectionWalk] = {}
        self.extractor = Extractor()

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.extractor = Extractor.from_settings(crawler.settings)  # inline, or worker processes
        crawler.signals.connect(spider.extractor.close, signal=signals.spider_closed)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for section in self.site.sections:
            self.walks[section.name] = walk = SectionWalk(section.name)
            walk.start(section.url)
            yield self.listing_request({"url": section.url, "method": "GET"}, section, page=1)

    def listing_request(self, req: dict, section: Section, page: int) -> scrapy.Request:
        # 202/412 answers are anti-bot challenges: let them reach parse_listing, which reports them.
        return scrapy.Request(req["url"], method=req.get("method") or "GET", body=req.get("body"),
                              headers=req.get("headers") or None, callback=self.parse_listing, errback=self.on_error,
                              cb_kwargs={"section": section, "page": page},
                              meta={"govnews_kind": "listing", "section": section.name, "listing_request": req,
                                    "handle_httpstatus_list": list(ANTI_BOT_STATUS)})

    def parse_listing(self, response: Response, section: Section, page: int):
        hints = {**section.listing, "request": response.meta.get("listing_request"), "status": response.status}
        listing = extract_listing(response.url, response.body, response.headers, hints=hints)
        items = listing.get("items") or []
        yield {"kind": "listing", "section": section.name, "url": response.url, "page": page,
               "items": items, "mechanism": listing.get("mechanism"), "total_pages": listing.get("total_pages")}
        if listing.get("shell") and not items:
            yield {"kind": "error", "section": section.name, "url": response.url, "error": "needs_browser",
                   "detail": listing["shell"]}
        elif not items and page == 1 and not (listing.get("next_page") or listing.get("requests")):
            yield {"kind": "error", "section": section.name, "url": response.url, "error": "empty_listing"}
        for item in items:
            yield scrapy.Request(item["url"], callback=self.parse_article, errback=self.on_error,
                                 cb_kwargs={"section": section, "list_item": item},
                                 meta={"govnews_kind": "article", "section": section.name})
        walk = self.walks[section.name]
        for req in walk.follow(response.url, listing, first=page == 1):
            yield self.listing_request(req, section, page + 1)
        if walk.stopped:
            self.logger.info("section %s: walk stopped after %d pages (%s)", section.name, len(walk.pages), walk.stopped)

    async def parse_article(self, response: Response, section: Section, list_item: dict):
        overrides = {**self.site.overrides, **section.overrides}
        record = await self.extractor.extract(response.url, response.body, response.headers, overrides or None)
        if not (record.get("title") or list_item.get("title")) or not record.get("body"):
            yield {"kind": "error", "section": section.name, "url": response.url, "error": "empty_article"}
            return
        record.update(site=self.site.name, http_status=response.status, fetched_at=utcnow(),
                      list_title=list_item.get("title"), list_date=list_item.get("date"))
        record["title"] = record.get("title") or list_item.get("title")
        record["published"] = record.get("published") or list_item.get("date")
        yield {"kind": "article", "section": section.name, "record": record}

    def on_error(self, failure: Failure):
        request = failure.request
        yield {"kind": "error", "section": request.meta.get("section"), "url": request.url,
               "error": error_kind(failure), "what": request.meta.get("govnews_kind")}
