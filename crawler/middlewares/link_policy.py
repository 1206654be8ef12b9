"""Never request off-site or non-http links; request the clean URL, remember the canonical one."""

from __future__ import annotations

from scrapy import Request
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawler.items import CrawlError
from crawler.urls import canonical_url, clean_url, link_refusal


class LinkPolicyMiddleware(BaseSpiderMiddleware):
    """Every article and listing request the spider yields: refused (a counted bad_link or offsite_link
    error instead) when it is not http(s) or not on an allowed host; otherwise sent to the clean URL
    with meta["govnews_url"], the canonical URL the article is archived under. Article and attachment
    URLs longer than URLLENGTH_LIMIT are counted as url_too_long failures."""

    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        self.url_limit = crawler.settings.getint("URLLENGTH_LIMIT", 2083)

    def get_processed_request(self, request: Request, response) -> Request | CrawlError | None:
        kind = request.meta.get("govnews_kind")
        if self.url_limit and kind in ("article", "attachment") and len(request.url) > self.url_limit:
            # Scrapy's UrlLengthMiddleware would drop it at INFO; as a failure it is counted, recorded
            # under the listed URL and tried in at most GOVNEWS_MAX_ATTEMPTS runs like any other.
            url = request.meta.get("govnews_url") or request.url
            return CrawlError(request.meta.get("section"), url, "url_too_long", kind, f"{len(request.url)} characters")
        # Start requests are the site definition's section URLs, asked for exactly as written, and
        # archived URLs re-checked: only links found on pages are policed.
        if kind not in ("article", "listing") or response is None:
            return request
        allowed = getattr(self.crawler.spider, "allowed_hosts", None) or []  # host[:port] entries
        refusal = link_refusal(request.url, allowed)
        if refusal:
            return CrawlError(request.meta.get("section"), request.url, refusal, kind)
        meta = {**request.meta, "govnews_url": request.meta.get("govnews_url") or canonical_url(request.url)}
        clean = clean_url(request.url)
        return request.replace(url=clean, meta=meta) if clean != request.url else request.replace(meta=meta)
