"""The generic news spider: walk every section listing, every listing page, every article.

It owns every callback; what it fetches and when a walk stops are decided by pure components it asks:
crawler.walk (the walk controller), crawler.frontier (fetch, skip, re-check), crawler.listing and
crawler.extract (extraction). What it yields are crawler.items, all written by the one pipeline.

`scrapy crawl news -a site=NAME [-a base_url=URL] -s GOVNEWS_DB=archive.db` runs it without the
govnews command (no lock, no per-run log file: `govnews crawl` adds those).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.http import Response
from twisted.python.failure import Failure

from archive.store import utcnow
from crawler.browser import INSTALL_HINT, BrowserFetch
from crawler.errors import error_kind
from crawler.extractpool import Extractor
from crawler.frontier import GONE_STATUSES, Fetch, Frontier
from crawler.items import (
    Article,
    AttachmentFile,
    CrawlError,
    ListingPage,
    Missing,
    NotModified,
    PageResource,
    WalkEnded,
)
from crawler.listing import extract_listing
from crawler.listing.shell import ANTI_BOT_STATUS, page_shell
from crawler.resources import Resource, ResourcePolicy, is_stylesheet
from crawler.sites import Section, Site, load_site
from crawler.urls import allowed_domains, canonical_url, clean_url, link_refusal
from crawler.walk import Ending, WalkController
from crawler.writer import ArchiveWriter

# Meta a downloaded response left on its request: not carried over to the same request sent to the browser.
DOWNLOAD_META = frozenset({"download_latency", "download_slot", "redirect_reasons", "redirect_times", "redirect_ttl",
                           "redirect_urls", "retry_times", "govnews_capture", "_auth_proxy", "_scheme_proxy"})
INDEX_NAME = re.compile(r"/(index|default)(_\d+)?\.(s?html?|jsp|aspx?|php)$", re.I)


def _norm(url: str) -> str:
    """scheme://host/path of a URL with a trailing index file name, page number and slash removed."""
    p = urlsplit(url)
    path = INDEX_NAME.sub("/", p.path or "/").rstrip("/")
    return f"{p.scheme}://{p.netloc.lower()}{path}"


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(self, site: Site | str, *args, base_url: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.site = load_site(site, base_url) if isinstance(site, str) else site
        self.allowed_hosts = list(self.site.allowed_hosts)  # host[:port]: our rules (crawler.urls)
        self.allowed_domains = allowed_domains(self.allowed_hosts)  # Scrapy's offsite filter takes no ports
        self.extractor = Extractor()
        self.walk: WalkController | None = None
        self.frontier: Frontier | None = None
        self.listing_urls: set[str] = set()
        self.url_limit = 2083  # Scrapy's URLLENGTH_LIMIT (from_crawler reads the setting)
        # Defaults for a spider made without a crawler (the distributed coordinator): no browser there.
        self.browser_ready, self.browser_timeout, self.browser_missing_warned = False, 30.0, False
        self.max_items = 5000  # GOVNEWS_MAX_LISTING_ITEMS: article links kept per listing page (0: all)
        self.refresh = self.refresh_attachments = False
        self.attachments = True
        self.resources = ResourcePolicy(self.allowed_hosts, self.site.resource_hosts)
        base = urlsplit(self.site.base_url)
        self.index_urls = {_norm(self.site.base_url), _norm(f"{base.scheme}://{base.netloc}/"),
                           *(_norm(s.url) for s in self.site.sections)}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.extractor = Extractor.from_settings(crawler.settings)  # inline, or worker processes
        spider.apply_settings(crawler.settings)
        crawler.signals.connect(spider.extractor.close, signal=signals.spider_closed)
        return spider

    def apply_settings(self, s) -> None:
        """The crawl's settings (also the distributed coordinator's spider, made without a crawler)."""
        self.walk = WalkController(max_pages=s.getint("GOVNEWS_MAX_LISTING_PAGES", 5000),
                                   pages=s.getint("GOVNEWS_MAX_PAGES") or None, full=s.getbool("GOVNEWS_FULL"))
        self.attachment_maxsize = s.getint("GOVNEWS_ATTACHMENT_MAXSIZE", 50 * 1024 * 1024)
        self.url_limit = s.getint("URLLENGTH_LIMIT", 2083) or 1 << 62
        self.max_items = s.getint("GOVNEWS_MAX_LISTING_ITEMS", 5000)
        self.refresh, self.attachments = s.getbool("GOVNEWS_REFRESH"), s.getbool("GOVNEWS_ATTACHMENTS", True)
        self.refresh_attachments = s.getbool("GOVNEWS_REFRESH_ATTACHMENTS")
        self.browser_ready = False  # read at start: crawler.browser.BrowserAddon runs after from_crawler
        self.browser_timeout = s.getfloat("GOVNEWS_BROWSER_TIMEOUT", 30)
        self.browser_missing_warned = False
        self.resources = ResourcePolicy.from_settings(s, self.site)
        # Scrapy's offsite filter also passes the CDN hosts page resources may come from (and the
        # robots.txt requests made for them); article and listing links stay on allowed_hosts (link_policy).
        self.allowed_domains = allowed_domains([*self.allowed_hosts, *self.resources.cdn_hosts])

    def open_frontier(self, state: dict) -> Frontier:
        """The run's frontier over what the archive knows (`state`, read once at the run's start)."""
        self.frontier = Frontier(state, refresh=self.refresh, attachments=self.attachments,
                                 render={s.name: s.render for s in self.site.sections},
                                 refresh_attachments=self.refresh_attachments)
        return self.frontier

    # -- start ----------------------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[scrapy.Request]:
        state = ArchiveWriter.of(self.crawler).open_run(self.site)  # read once, at the run's start
        if state is None:
            return  # the disk is full: the writer is stopping the crawl
        self.browser_ready = self.crawler.settings.getbool("GOVNEWS_BROWSER_READY")
        self.open_frontier(state)
        for section in self.site.sections:
            yield self.listing_request(self.walk.start(section.name, section.url), section, page=1)
        for fetch in self.frontier.at_start():
            yield self.fetch_request(fetch)
        for url, kind in state.get("resources_pending", {}).items():  # failed in an earlier run: once more
            res = self.resources.resource(url, kind)
            if res is not None:
                yield self.resource_request(res, None, depth=1)

    def listing_request(self, req: dict, section: Section, page: int) -> scrapy.Request:
        # dont_filter: the walk controller already dedupes a walk's listing requests (a dropped one
        # would leave the walk waiting). 202/412 answers are anti-bot challenges: parse_listing reports them.
        request = scrapy.Request(req["url"], method=req.get("method") or "GET", body=req.get("body"),
                                 headers=req.get("headers") or None, callback=self.parse_listing,
                                 errback=self.listing_failed, dont_filter=True, cb_kwargs={"section": section, "page": page},
                                 meta={"govnews_kind": "listing", "section": section.name, "listing_request": req,
                                       "handle_httpstatus_list": list(ANTI_BOT_STATUS)})
        return self._route(request, section.name, "listing")

    def fetch_request(self, fetch: Fetch) -> scrapy.Request:
        """The request for a frontier decision: a new article, a known one re-checked, an attachment."""
        section = self._section(fetch.section)
        if fetch.check == "attachment":
            return scrapy.Request(fetch.url, callback=self.parse_attachment, errback=self.attachment_failed,
                                  meta={"govnews_kind": "attachment", "section": fetch.section, "govnews_url": fetch.url,
                                        "download_maxsize": self.attachment_maxsize})
        # Anti-bot challenge answers reach the callback, which retries them in the browser.
        meta = {"govnews_kind": "article", "section": section.name, "govnews_url": fetch.url,
                "handle_httpstatus_list": list(ANTI_BOT_STATUS)}
        if fetch.check is None:
            request = scrapy.Request(fetch.url, callback=self.parse_article, errback=self.on_error, meta=meta,
                                     cb_kwargs={"section": section, "list_item": {"url": fetch.url}})
            return self._route(request, section.name, "article")
        meta["govnews_check"] = fetch.check
        meta["govnews_archived"] = fetch.archived
        if fetch.archived:  # 304 and gone answers reach parse_known; for a page never archived a 404 is an error
            meta["handle_httpstatus_list"] += [304, *GONE_STATUSES]
        # dont_filter: several gone articles may redirect to the same home page; each must be seen.
        request = scrapy.Request(fetch.url, callback=self.parse_known, errback=self.on_error, dont_filter=True,
                                 headers=fetch.headers or None, meta=meta,
                                 cb_kwargs={"section": section, "list_item": {"url": fetch.url}})
        return self._route(request, section.name, "article")

    # -- the browser (crawler.browser; the frontier decides) ------------------------------------------
    def _route(self, request: scrapy.Request, section: str, kind: str) -> scrapy.Request:
        """Through the browser when the frontier says so; else with the cookies the host's challenge earned."""
        if self.browser_ready and self.frontier.in_browser(section, kind):
            return self._in_browser(request)
        cookie = self.frontier.cookie(urlsplit(request.url).netloc)
        if cookie:
            request.headers["Cookie"] = cookie
        return request

    def _in_browser(self, request: scrapy.Request) -> scrapy.Request:
        fetch = BrowserFetch(timeout=self.browser_timeout, hosts=tuple(self.allowed_domains),
                             max_body=self.crawler.settings.getint("DOWNLOAD_MAXSIZE", 32 * 1024 * 1024))
        meta = {k: v for k, v in request.meta.items() if k not in DOWNLOAD_META}
        request = request.replace(meta={**meta, **fetch.meta()}, dont_filter=True)
        request.headers.pop("Cookie", None)  # the browser sends its own
        return request

    def _browser_retry(self, response: Response, section: str, kind: str, status: int,
                       reason: str) -> scrapy.Request | None:
        """A shell or a challenge from plain HTTP: the same request in the browser, once; None when it
        already came from the browser, the section says render = "http", or there is no browser."""
        if response.meta.get("govnews_browser") is not None or not self.frontier.may_render(section):
            return None
        if not self.browser_ready:
            if not self.browser_missing_warned:
                self.browser_missing_warned = True
                self.logger.warning("%s needs a browser (%s) and none is available: %s; such pages are "
                                    "recorded as needs_browser", response.url, reason, INSTALL_HINT)
            return None
        request = response.request
        challenge = status in ANTI_BOT_STATUS or "challenge" in reason
        self.frontier.needs_browser(section, kind, urlsplit(request.url).netloc, challenge=challenge,
                                    had_cookie=b"Cookie" in request.headers)
        self.crawler.stats.inc_value("govnews/browser_retries")
        self.logger.info("%s: %s from plain HTTP; retrying in the browser", request.url, reason)
        return self._in_browser(request)

    def _status(self, response: Response) -> int:
        """The response's status; for a browser fetch, the final document's (after a challenge reload)."""
        fetch: BrowserFetch | None = response.meta.get("govnews_browser")
        if fetch is None:
            return response.status
        if fetch.challenged and fetch.status not in ANTI_BOT_STATUS:
            self.frontier.earned(urlsplit(response.url).netloc, fetch.cookies)
        return fetch.status or response.status

    def _section(self, name: str | None) -> Section:
        """The site's section of that name; the first section for one the definition no longer has."""
        return next((s for s in self.site.sections if s.name == name), self.site.sections[0])

    # -- listings -------------------------------------------------------------------------------------
    def parse_listing(self, response: Response, section: Section, page: int) -> Iterator:
        status = self._status(response)
        hints = {**section.listing, "request": response.meta.get("listing_request"), "status": status}
        listing = extract_listing(response.url, response.body, response.headers, hints=hints)
        # A shell with no way forward for plain HTTP (no data requests the walk could make itself).
        if listing.get("shell") and not listing.get("items") and not listing.get("requests"):
            if response.meta.get("govnews_browser") is not None and status not in ANTI_BOT_STATUS:
                listing["shell"] = None  # rendered and still empty: an empty page, not a shell
            retry = self._browser_retry(response, section.name, "listing", status, listing["shell"]) \
                if listing["shell"] else None
            if retry is not None:  # the walk still counts the listing request as in flight
                yield retry
                return
        self.listing_urls.add(_norm(response.url))
        if response.meta.get("govnews_browser") is not None:
            listing = {**listing, "fetched_by": "browser"}
        found = listing.get("items") or []
        if self.max_items and len(found) > self.max_items:
            # A page listing 100,000 links would queue as many requests at once: keep the first
            # GOVNEWS_MAX_LISTING_ITEMS, count the cut, and leave the walk incomplete.
            yield CrawlError(section.name, response.url, "listing_items_cap", "listing",
                             f"{len(found)} items, kept the first {self.max_items}")
            listing = {**listing, "items": found[:self.max_items], "items_cut": len(found) - self.max_items}
        yield from self.after_listing(section, response.url, page, listing)

    def after_listing(self, section: Section, url: str, page: int, listing: dict) -> Iterator:
        """What one listing page leads to: its items, errors, article and listing requests, the walk's end."""
        items, links, refused = self._listed_items(listing.get("items") or [])
        for link_url, kind in refused:
            yield CrawlError(section.name, link_url, kind, "article")
        yield ListingPage(section.name, url, page, items, listing.get("mechanism"), listing.get("total_pages"),
                          browser=listing.get("fetched_by") == "browser")
        if listing.get("shell") and not items:
            yield CrawlError(section.name, url, "needs_browser", "listing", listing["shell"])
        elif not items and page == 1 and not (listing.get("next_page") or listing.get("requests")):
            yield CrawlError(section.name, url, "empty_listing", "listing")
        for item, link in zip(items, links, strict=True):
            fetch = self.frontier.listed(item["url"], section.name)
            if fetch is not None:  # requested as linked (cleaned), archived under the canonical URL
                request = self.fetch_request(fetch)
                request.cb_kwargs["list_item"] = item
                yield request.replace(url=link) if link != request.url else request
            else:
                self.crawler.stats.inc_value("govnews/articles_skipped")
        urls = [i["url"] for i in items]
        step = self.walk.listing(section.name, url, page, listing, all_known=self.frontier.all_known(urls),
                                 may_stop_early=self.frontier.walk_was_complete(section.name))
        for kind in step.errors:
            yield CrawlError(section.name, url, kind, "listing")
        ended = step.ended
        for req in step.requests:
            if len(req["url"]) > self.url_limit:  # Scrapy would drop it at INFO, and the walk would wait for it
                yield CrawlError(section.name, req["url"], "url_too_long", "listing", f"{len(req['url'])} characters")
                ended = self.walk.failed(section.name) or ended
                continue
            yield self.listing_request(req, section, page + 1)
        if ended:
            yield from self._walk_ended(ended)

    def _listed_items(self, items: list[dict]) -> tuple[list[dict], list[str], list[tuple[str, str]]]:
        """Listed items under their canonical URLs, once each, with the (cleaned) link to request;
        refused links (off-site, not http) apart, with their error kind."""
        kept, links, refused, seen = [], [], [], set()
        for item in items:
            kind = link_refusal(item.get("url") or "", self.allowed_hosts)
            if kind:
                refused.append((item.get("url") or "", kind))
                continue
            url = canonical_url(item["url"])
            if url not in seen:
                seen.add(url)
                kept.append({**item, "url": url})
                links.append(clean_url(item["url"]))
        return kept, links, refused

    def listing_failed(self, failure: Failure) -> Iterator:
        yield from self.on_error(failure)
        yield from self.after_listing_failure(failure.request.meta["section"])

    def after_listing_failure(self, section: str) -> Iterator:
        ended = self.walk.failed(section)
        if ended:
            yield from self._walk_ended(ended)

    def _walk_ended(self, ended: Ending) -> Iterator:
        yield WalkEnded(ended.section, ended.stop, ended.complete, ended.reached_end, ended.listed,
                        ended.stated_items, ended.stated_pages, ended.pages)
        self.logger.info("section %s: walk ended after %d pages (%s)", ended.section,
                         len(self.walk.walks[ended.section].pages), ended.stop)
        if ended.complete and ended.reached_end:
            # Re-check what the section stopped listing: still resolving means unlisted, not gone.
            unlisted = self.frontier.unlisted(ended.section, ended.listed)
            for fetch in self.frontier.recheck_unlisted(ended.section, unlisted):
                yield self.fetch_request(fetch)

    # -- articles -------------------------------------------------------------------------------------
    async def parse_article(self, response: Response, section: Section, list_item: dict) -> AsyncIterator:
        async for out in self.article_items(response, section, list_item):
            yield out

    async def article_items(self, response: Response, section: Section, list_item: dict) -> AsyncIterator:
        status = self._status(response)
        overrides = {**self.site.overrides, **section.overrides}
        record = {}
        if status not in ANTI_BOT_STATUS:
            record = await self.extractor.extract(response.url, response.body, response.headers, overrides or None)
        if not (record.get("title") or list_item.get("title")) or not record.get("body"):
            if response.meta.get("govnews_browser") is None:
                shell = page_shell(response.body, response.headers, status)
            else:  # rendered: only a challenge the browser did not pass keeps it a browser matter
                shell = ANTI_BOT_STATUS.get(status)
            retry = self._browser_retry(response, section.name, "article", status, shell) if shell else None
            if retry is not None:
                yield retry
            else:
                # Under the URL it was listed as (not where a redirect ended), so its attempts are counted.
                yield CrawlError(section.name, self._asked(response.request), "needs_browser" if shell else "empty_article",
                                 "article", shell)
            return
        browser = response.meta.get("govnews_browser") is not None
        record.update(site=self.site.name, http_status=status, fetched_at=utcnow(),
                      list_title=list_item.get("title"), list_date=list_item.get("date"),
                      fetched_by="browser" if browser else "http")
        record["title"] = record.get("title") or list_item.get("title")
        record["published"] = record.get("published") or list_item.get("date")
        # Stored under the canonical URL of the listed link, wherever a redirect ended.
        record["url"] = response.meta.get("govnews_url") or canonical_url(response.request.url)
        # Where its raw capture is, and what to send for a conditional refetch.
        record.update(response.meta.get("govnews_capture") or {})
        for header, key in (("ETag", "etag"), ("Last-Modified", "last_modified")):
            value = None if browser else response.headers.get(header)  # a rendered page is not re-validated
            record[key] = value.decode("latin-1") if value else None
        for out in self.after_article(section, record):
            yield out
        for out in self.resource_requests(response, record, section):
            yield out

    def after_article(self, section: Section, record: dict) -> Iterator:
        """An article record, and the attachments to download with it."""
        yield Article(section.name, record)
        urls = [a.get("url") for a in record.get("attachments") or []]
        for fetch in self.frontier.attachment_fetches(urls, section.name):
            yield self.fetch_request(fetch)

    async def parse_known(self, response: Response, section: Section, list_item: dict) -> AsyncIterator:
        """A known article re-checked: 304, gone (404/410, or redirected to an index page), or a new copy."""
        asked = response.meta.get("govnews_url") or (response.meta.get("redirect_urls") or [response.url])[0]
        if response.status == 304:
            yield NotModified(section.name, asked)
            return
        if response.meta.get("govnews_archived") and (response.status in GONE_STATUSES or
                                                 self._redirected_to_index(response)):
            status = response.status if response.status in GONE_STATUSES else \
                (response.meta.get("redirect_reasons") or [302])[0]
            yield Missing(section.name, asked, status, response.url)
            return
        async for out in self.article_items(response, section, list_item):
            yield out

    def _redirected_to_index(self, response: Response) -> bool:
        if not response.meta.get("redirect_urls"):
            return False
        final = _norm(response.url)
        if final in self.index_urls or final in self.listing_urls:
            return True
        # page N of a section listing, e.g. /ns_class/zxzx/3
        return any(final.startswith(s + "/") and final[len(s) + 1:].isdigit() for s in self.index_urls)

    # -- page resources (crawler.resources) -----------------------------------------------------------
    def resource_requests(self, response: Response, record: dict, section: Section) -> Iterator[scrapy.Request]:
        """An archived article's page resources, as ordinary requests (each once a run: Scrapy's
        duplicate filter; identical payloads become revisit records: crawler.capture)."""
        body_images = [i.get("url") for i in record.get("images") or []]
        skip = {a.get("url") for a in record.get("attachments") or []}  # downloaded as attachments
        fetch: BrowserFetch | None = response.meta.get("govnews_browser")
        if fetch is not None:  # what the browser itself loaded is in WARC already
            skip |= {r.url for r in fetch.received}
        for res in self.resources.for_page(response.url, response.body, body_images, skip):
            yield self.resource_request(res, section.name, depth=1)

    def resource_request(self, res: Resource, section: str | None, depth: int) -> scrapy.Request:
        meta = {"govnews_kind": res.kind, "section": section, "govnews_resource_depth": depth,
                "download_maxsize": self.resources.max_size, "download_timeout": self.resources.timeout}
        if res.offsite:
            meta["allow_offsite"] = True  # a CDN host the site definition lists
        request = scrapy.Request(res.url, callback=self.parse_resource, errback=self.resource_failed, meta=meta,
                                 headers={"Accept": "*/*"})
        cookie = self.frontier.cookie(urlsplit(res.url).netloc) if self.frontier else None
        if cookie:  # a host behind a challenge: the cookie its pages earned
            request.headers["Cookie"] = cookie
        return request

    def parse_resource(self, response: Response) -> Iterator:
        meta = response.meta
        asked = (meta.get("redirect_urls") or [response.url])[0]
        yield PageResource(meta.get("section"), asked, meta.get("govnews_kind", "resource"), len(response.body))
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        if is_stylesheet(response.url, content_type):
            css = response.body.decode(getattr(response, "encoding", None) or "utf-8", "replace")
            depth = meta.get("govnews_resource_depth", 1)
            for res in self.resources.for_stylesheet(response.url, css, depth):
                yield self.resource_request(res, meta.get("section"), depth + 1)

    def resource_failed(self, failure: Failure) -> Iterator:
        request = failure.request
        url = (request.meta.get("redirect_urls") or [request.url])[0]
        # Counted (resource_http_404, resource_timeout, …), never a failure of the article or the run.
        kind = request.meta.get("govnews_kind", "resource")  # image or resource: how a later run asks again
        yield CrawlError(request.meta.get("section"), url, f"resource_{error_kind(failure)}", kind)

    # -- attachments ----------------------------------------------------------------------------------
    def parse_attachment(self, response: Response) -> Iterator:
        body = response.body
        mime = (response.headers.get("Content-Type") or b"").decode("latin-1").split(";")[0].strip() or None
        asked = (response.meta.get("redirect_urls") or [response.url])[0]
        yield AttachmentFile(response.meta.get("section"), asked, "ok", mime, len(body),
                             hashlib.sha256(body).hexdigest(), dict(response.meta.get("govnews_capture") or {}))

    def attachment_failed(self, failure: Failure) -> Iterator:
        request = failure.request
        section, url = request.meta.get("section"), self._asked(request)
        kind = error_kind(failure)
        too_large = kind == "too_large" or "max size" in str(failure.value).lower()
        yield AttachmentFile(section, url, "too_large" if too_large else kind)
        if not too_large:
            # A 4xx is the site's own dead link (counted, not a failure); a 5xx or timeout is ours to retry,
            # in at most GOVNEWS_MAX_ATTEMPTS runs like every failure.
            error = "attachment_missing" if kind.startswith("http_4") else f"attachment_{kind}"
            yield CrawlError(section, url, error, "attachment")

    # -- errors ---------------------------------------------------------------------------------------
    def on_error(self, failure: Failure) -> Iterator:
        request = failure.request
        yield CrawlError(request.meta.get("section"), self._asked(request), error_kind(failure),
                         request.meta.get("govnews_kind"))

    @staticmethod
    def _asked(request: scrapy.Request) -> str:
        """The URL a failure is recorded under: the canonical URL asked for, before any redirect (what
        the archive lists and re-queues, so the attempt cap applies to it)."""
        return request.meta.get("govnews_url") or (request.meta.get("redirect_urls") or [request.url])[0]
