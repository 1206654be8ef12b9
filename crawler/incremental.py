"""Incremental crawling: fetch only what is new, re-check what is known, notice what disappeared.

A spider middleware between the generic spider and the engine. It reads the archive once at the start
of a run and then, without the spider knowing:

- stops a section's listing walk after the first listing page whose items are all archived — but only
  when that section's previous walk completed (a walk cut short by a kill or an error is walked to its
  end next time, so nothing listed beyond the cut is missed); `--full` walks everything, `--pages N` caps;
- drops requests for articles already archived; `--refresh` re-requests every archived article instead,
  conditionally (If-None-Match / If-Modified-Since from the stored response), so an unchanged page costs
  a 304; 404/410 or a redirect to an index page is reported as missing (gone after two runs);
- re-queues articles that were listed but never archived (a killed run, a failed fetch);
- downloads each article's attachments once, with a size cap;
- after a complete walk that reached the last page, records articles the section no longer lists
  (unlisted) and re-checks them conditionally, so a page that still resolves is not taken for gone.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.http import Response
from twisted.python.failure import Failure

from archive.store import Archive
from crawler.sites import Section, Site

log = logging.getLogger(__name__)

GONE_STATUSES = (404, 410)
INDEX_NAME = re.compile(r"/(index|default)(_\d+)?\.(s?html?|jsp|aspx?|php)$", re.I)


def _norm(url: str) -> str:
    """scheme://host/path of a URL with a trailing index file name, page number and slash removed."""
    p = urlsplit(url)
    path = INDEX_NAME.sub("/", p.path or "/").rstrip("/")
    return f"{p.scheme}://{p.netloc.lower()}{path}"


class IncrementalMiddleware:
    def __init__(self, crawler) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.site: Site = s.get("GOVNEWS_SITE")
        self.db = s.get("GOVNEWS_DB")
        self.run_id = s.getint("GOVNEWS_RUN_ID") or None
        self.full = s.getbool("GOVNEWS_FULL")
        self.refresh = s.getbool("GOVNEWS_REFRESH")
        self.max_pages = s.getint("GOVNEWS_MAX_PAGES") or None
        self.attachments = s.getbool("GOVNEWS_ATTACHMENTS", True)
        self.attachment_maxsize = s.getint("GOVNEWS_ATTACHMENT_MAXSIZE", 50 * 1024 * 1024)
        self.max_attempts = s.getint("GOVNEWS_MAX_ATTEMPTS", 3)
        self.state: dict | None = None
        self.archive: Archive | None = None
        self.outstanding: Counter[str] = Counter()  # listing requests in flight, per section
        self.failed: set[str] = set()  # sections whose walk met a listing error
        self.capped: set[str] = set()  # sections whose walk was cut by --pages with unknown items left
        self.cut: set[str] = set()  # sections whose walk did not reach the last page
        self.ended: set[str] = set()
        self.walks: dict[str, bool] = {}  # section -> walk complete?
        self.listed: dict[str, set[str]] = defaultdict(set)  # article URLs seen in each section's listing
        self.listing_urls: set[str] = set()
        self.requested: set[str] = set()  # article/attachment URLs this middleware already asked for
        crawler.signals.connect(self.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    # -- state --------------------------------------------------------------------------------------
    def _load(self) -> dict:
        if self.state is None:
            self.archive = Archive(self.db)
            # --refresh also tries again the listed pages that were given up on after max_attempts runs.
            self.state = self.archive.incremental_state(self.site.name, 1 << 30 if self.refresh else self.max_attempts)
            ids = [v["id"] for v in self.state["sections"].values()]
            self.archive.begin_walks(ids, self.run_id)
            base = urlsplit(self.site.base_url)
            self.index_urls = {_norm(self.site.base_url), _norm(f"{base.scheme}://{base.netloc}/"),
                               *(_norm(s.url) for s in self.site.sections)}
        return self.state

    def spider_closed(self, spider=None, reason=None) -> None:
        if self.archive is None:
            return
        # Only now is every listing item stored; walks that never ended stay incomplete.
        ids = {name: info["id"] for name, info in self._section_ids().items()}
        self.archive.end_walks({sid: self.walks.get(name, False) for name, sid in ids.items()}, self.run_id)
        self.archive.close()

    def _section_ids(self) -> dict[str, dict]:
        rows = self.archive.db.execute("SELECT id, name FROM sections WHERE site = ?", [self.site.name])
        return {name: {"id": sid} for sid, name in rows if name in {s.name for s in self.site.sections}}

    @property
    def spider(self):
        return self.crawler.spider

    def _section(self, name: str | None) -> Section:
        for s in self.site.sections:
            if s.name == name:
                return s
        return self.site.sections[0]

    def _walk_was_complete(self, section: str) -> bool:
        info = self._load()["sections"].get(section)
        return bool(info) and info["walk_status"] == "complete"

    # -- start: the spider's section listings, then re-queued and refreshed articles -----------------
    async def process_start(self, start: AsyncIterator) -> AsyncIterator:
        state = self._load()
        async for o in start:
            if isinstance(o, Request) and o.meta.get("govnews_kind") == "listing":
                o = self._track_listing(o)
            yield o
        for url, section in state["pending"].items():
            if url not in self.requested:
                yield self.known_request(url, section, conditional=False, check="pending")
        for url, article in state["attachments_pending"].items():
            section = (state["archived"].get(article) or {}).get("section")
            for request in self._attachment_requests({"attachments": [{"url": url}]}, section):
                yield request
        if self.refresh:
            for url, info in state["archived"].items():
                if url not in self.requested:
                    yield self.known_request(url, info["section"], conditional=True, check="refresh")

    def known_request(self, url: str, section: str | None, conditional: bool, check: str) -> Request:
        """A request for an article the archive knows of; 304/404/410 reach parse_known, not the errback."""
        self.requested.add(url)
        headers = {}
        info = self._load()["archived"].get(url) or {}
        if conditional and info.get("etag"):
            headers["If-None-Match"] = info["etag"]
        if conditional and info.get("last_modified"):
            headers["If-Modified-Since"] = info["last_modified"]
        sec = self._section(section)
        meta = {"govnews_kind": "article", "section": sec.name, "govnews_check": check,
                "govnews_url": url}  # stored under the URL the archive knows it by, wherever a redirect ends
        if url in self._load()["archived"]:
            # 304 and gone answers reach parse_known; for a page never archived a 404 stays an error.
            meta["handle_httpstatus_list"] = [304, *GONE_STATUSES]
        # dont_filter: several gone articles may redirect to the same home page; each must be seen.
        return Request(url, callback=self.parse_known, errback=self.spider.on_error, headers=headers or None,
                       dont_filter=True, cb_kwargs={"section": sec, "list_item": {"url": url}}, meta=meta)

    # -- what the spider yields ------------------------------------------------------------------------
    def process_spider_output(self, response: Response, result: Iterable, spider=None) -> Iterator:
        ctx: dict = {}
        for o in result:
            yield from self._process(o, response, ctx)
        self._after(response)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator, spider=None) -> AsyncIterator:
        ctx: dict = {}
        async for o in result:
            for out in self._process(o, response, ctx):
                yield out
        self._after(response)

    def _process(self, o, response: Response, ctx: dict) -> Iterator:
        state = self._load()
        stats = self.crawler.stats
        if isinstance(o, dict):
            kind = o.get("kind")
            if kind == "listing":
                urls = [i["url"] for i in o.get("items") or []]
                self.listed[o["section"]].update(urls)
                self.listing_urls.add(_norm(o.get("url") or response.url))
                ctx["all_known"] = bool(urls) and all(u in state["known"] for u in urls)
            elif kind == "article":
                self._augment(o["record"], response)
                yield o
                yield from self._attachment_requests(o["record"], o.get("section"))
                return
            yield o
            return
        if not isinstance(o, Request):
            yield o
            return
        kind = o.meta.get("govnews_kind")
        if kind == "listing":
            section = o.meta.get("section")
            page = o.cb_kwargs.get("page") or 0
            all_known = ctx.get("all_known", False)
            if self.max_pages and page > self.max_pages:
                self.cut.add(section)
                if not all_known:
                    self.capped.add(section)
                stats.inc_value("govnews/listing_capped")
                return
            if all_known and not self.full and self._walk_was_complete(section):
                self.cut.add(section)
                stats.inc_value("govnews/listing_stopped")
                log.info("section %s: stopping the walk at %s, every item on it is archived", section, response.url)
                return
            yield self._track_listing(o)
        elif kind == "article":
            url = o.meta.get("govnews_url") or o.url  # canonical, when the link policy set it
            if url in state["known"] or url in self.requested:
                stats.inc_value("govnews/articles_skipped")
                return
            yield o
        else:
            yield o

    def _augment(self, record: dict, response: Response) -> None:
        """Store with the record where its raw capture is and what to send for a conditional refetch."""
        record.update(response.meta.get("govnews_capture") or {})
        for header, key in (("ETag", "etag"), ("Last-Modified", "last_modified")):
            value = response.headers.get(header)
            record[key] = value.decode("latin-1") if value else None

    # -- listing walk bookkeeping ----------------------------------------------------------------------
    def _track_listing(self, request: Request) -> Request:
        self.outstanding[request.meta.get("section")] += 1
        return request.replace(errback=self._listing_failed)

    def _listing_failed(self, failure: Failure):
        self._listing_finished(failure.request, ok=False)
        yield from self.spider.on_error(failure)

    def _after(self, response: Response) -> None:
        if response is not None and response.meta.get("govnews_kind") == "listing":
            self._listing_finished(response.request, ok=200 <= response.status < 300)

    def request_dropped(self, request: Request, spider=None) -> None:
        if request.meta.get("govnews_kind") == "listing":
            self._listing_finished(request, ok=True)  # a duplicate of a page already walked

    def _listing_finished(self, request: Request, ok: bool) -> None:
        if request is None or request.meta.get("govnews_listing_done"):
            return
        request.meta["govnews_listing_done"] = True
        section = request.meta.get("section")
        if not ok:
            self.failed.add(section)
        self.outstanding[section] -= 1
        if self.outstanding[section] <= 0 and section not in self.ended:
            self._walk_ended(section)

    def _walk_ended(self, section: str) -> None:
        """The last listing request of a section is done: record how the walk ended."""
        self.ended.add(section)
        state = self._load()
        info = state["sections"].get(section)
        complete = section not in self.failed and section not in self.capped
        reached_end = section not in self.cut
        stats = self.crawler.stats
        stats.inc_value("govnews/sections_done")
        self.walks[section] = complete
        if info is None:  # a section new to this archive: the pipeline created it after we read the state
            info = self._section_ids()[section]
        unlisted = []
        if complete and reached_end:
            # What this walk saw comes from our own bookkeeping: the pipeline may not have stored it yet.
            unlisted = self.archive.mark_unlisted(info["id"], self.listed[section])
        if unlisted:
            stats.inc_value("govnews/unlisted", len(unlisted))
            log.info("section %s: %d archived articles are no longer listed", section, len(unlisted))
        log.info("section %s: walk %s%s", section, "complete" if complete else "incomplete",
                 " (reached the last page)" if reached_end else "")
        # Re-check what the section stopped listing: still resolving means unlisted, not gone.
        for url in unlisted:
            if url not in self.requested and url in state["archived"]:
                self.crawler.engine.crawl(self.known_request(url, section, conditional=True, check="unlisted"))

    # -- known articles: 304, gone, or a fresh copy -----------------------------------------------------
    def _redirected_to_index(self, response: Response) -> bool:
        if not response.meta.get("redirect_urls"):
            return False
        final = _norm(response.url)
        if final in self.index_urls or final in self.listing_urls:
            return True
        # page N of a section listing, e.g. /ns_class/zxzx/3
        return any(final.startswith(s + "/") and final[len(s) + 1:].isdigit() for s in self.index_urls)

    async def parse_known(self, response: Response, section: Section, list_item: dict):
        asked = response.meta.get("govnews_url") or (response.meta.get("redirect_urls") or [response.url])[0]
        if response.status == 304:
            yield {"kind": "not_modified", "url": asked, "section": section.name}
            return
        archived = asked in self._load()["archived"]
        if archived and (response.status in GONE_STATUSES or self._redirected_to_index(response)):
            status = response.status if response.status in GONE_STATUSES else \
                (response.meta.get("redirect_reasons") or [302])[0]
            yield {"kind": "missing", "url": asked, "status": status, "final_url": response.url,
                   "section": section.name}
            return
        parsed = self.spider.parse_article(response, section, list_item)
        if hasattr(parsed, "__aiter__"):
            async for out in parsed:
                yield out
        else:
            for out in parsed:
                yield out

    # -- attachments ------------------------------------------------------------------------------------
    def _attachment_requests(self, record: dict, section: str | None) -> Iterator[Request]:
        if not self.attachments:
            return
        done = self._load()["attachments_done"]
        for a in record.get("attachments") or []:
            url = a.get("url")
            if not url or url in done or url in self.requested or not url.startswith(("http://", "https://")):
                continue
            self.requested.add(url)
            yield Request(url, callback=self.parse_attachment, errback=self.attachment_failed,
                          meta={"govnews_kind": "attachment", "section": section,
                                "download_maxsize": self.attachment_maxsize})

    def parse_attachment(self, response: Response):
        body = response.body
        mime = (response.headers.get("Content-Type") or b"").decode("latin-1").split(";")[0].strip() or None
        asked = (response.meta.get("redirect_urls") or [response.url])[0]
        yield {"kind": "attachment_file", "url": asked, "section": response.meta.get("section"), "status": "ok",
               "mime": mime, "size": len(body), "sha256": hashlib.sha256(body).hexdigest(),
               **(response.meta.get("govnews_capture") or {})}

    def attachment_failed(self, failure: Failure):
        from crawler.errors import error_kind

        request = failure.request
        kind = error_kind(failure)
        too_large = kind == "too_large" or "max size" in str(failure.value).lower()
        yield {"kind": "attachment_file", "url": request.url, "section": request.meta.get("section"),
               "status": "too_large" if too_large else kind}
        if not too_large:
            # A 4xx is the site's own dead link (counted, not a failure); a 5xx or timeout is ours to retry.
            error = "attachment_missing" if kind.startswith("http_4") else f"attachment_{kind}"
            yield {"kind": "error", "section": request.meta.get("section"), "url": request.url,
                   "error": error, "what": "attachment"}
