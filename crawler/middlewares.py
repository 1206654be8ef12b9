"""Scrapy components that keep a crawl correct on slow, flaky and hostile servers.

- canonical URLs: one article under many URLs (session ids, tracking parameters, index.html vs /)
  is fetched once and archived once (CanonicalFingerprinter, LinkPolicyMiddleware);
- link policy: off-site and non-http links are never requested, only counted;
- listing guards: a pager that loops or goes on forever (calendar trap) is cut short;
- response guards: empty, binary, truncated-gzip and callback-crashing pages become counted errors
  instead of archived junk or a stopped section;
- redirects: loops and redirects to other hosts are named errors, not silent drops;
- Retry-After is honoured (capped), and retries stay bounded by RETRY_TIMES;
- the SQLite write-ahead log is checkpointed so it stays small while Datasette reads the archive.

Every refusal becomes an {"kind": "error"} item (or a govnews/errors/<kind> stat for downloader-level
events) so crawl_runs.errors counts it by kind; crawler.errors says which kinds are failures.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
import weakref
import zlib
from collections.abc import AsyncIterator, Iterable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from scrapy import Request, signals
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.request import RequestFingerprinter
from scrapy.utils.response import response_status_message
from twisted.internet.task import deferLater

from crawler.errors import PageRejected, error_kind

log = logging.getLogger(__name__)

# Query parameters that never change which page a server returns: session ids and click tracking.
SESSION_PARAMS = {"jsessionid", "phpsessid", "aspsessionid", "sessionid", "session_id", "sessid", "cfid",
                  "cftoken", "sid_token"}
TRACKING_PARAMS = {"spm", "from", "isappinstalled", "scene", "clicktime", "enterid", "share_token",
                   "sharer_shareid", "sharer_sharetime", "wfr", "fbclid", "gclid", "msclkid", "_hsenc",
                   "_hsmi", "mc_cid", "mc_eid", "yclid", "ref_src", "share_from", "timestamp", "t_"}
TRACKING_PREFIXES = ("utm_", "aspsessionid")
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.I)
_INDEX_FILE = re.compile(r"/(index|default)\.(s?html?|jsp|php|aspx?)$", re.I)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _drop_param(name: str) -> bool:
    n = name.lower()
    return n in SESSION_PARAMS or n in TRACKING_PARAMS or n.startswith(TRACKING_PREFIXES)


def clean_url(url: str) -> str:
    """The URL to request: same page, minus fragment, session ids and tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    path = _PATH_SESSION.sub("", parts.path) or "/"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _drop_param(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((scheme, netloc, path, query, ""))


def canonical_url(url: str) -> str:
    """The one URL an article is archived under: clean_url, and /dir/index.html folded into /dir/."""
    clean = clean_url(url)
    parts = urlsplit(clean)
    path = _INDEX_FILE.sub("/", parts.path)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, "")) if path != parts.path else clean


def host_allowed(host: str | None, allowed: Iterable[str]) -> bool:
    """Scrapy's offsite rule: the host is an allowed domain or a subdomain of one (ports ignored)."""
    allowed = [d.lower() for d in allowed if d]
    if not allowed:
        return True
    host = (host or "").lower()
    return any(host == d or host.endswith("." + d) for d in allowed)


def _error(section: str | None, url: str, kind: str, what: str | None = None) -> dict:
    return {"kind": "error", "section": section, "url": url, "error": kind, "what": what}


class CanonicalFingerprinter:
    """Scrapy's request fingerprint, computed on the canonical URL (so URL variants are duplicates)."""

    def __init__(self, crawler=None) -> None:
        self._base = RequestFingerprinter(crawler)
        self._cache: weakref.WeakKeyDictionary[Request, bytes] = weakref.WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler) -> CanonicalFingerprinter:
        return cls(crawler)

    def fingerprint(self, request: Request) -> bytes:
        fp = self._cache.get(request)
        if fp is None:
            canon = canonical_url(request.url)
            fp = self._base.fingerprint(request if canon == request.url else request.replace(url=canon))
            self._cache[request] = fp
        return fp


class _OutputMiddleware:
    """A spider middleware whose output hook may replace one object with several (sync and async)."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def handle(self, obj: Any, response) -> Iterable[Any]:
        yield obj

    def process_spider_output(self, response, result, spider=None):
        for obj in result:
            yield from self.handle(obj, response)

    async def process_spider_output_async(self, response, result: AsyncIterator[Any], spider=None):
        async for obj in result:
            for out in self.handle(obj, response):
                yield out


class LinkPolicyMiddleware(_OutputMiddleware):
    """Canonicalize what the spider yields, and never request off-site or non-http links.

    Requests are sent to the clean URL and carry meta["govnews_url"], the canonical URL; listing
    items list canonical URLs; article records are stored under the canonical URL of the listed link
    (not of wherever a redirect ended), so every section listing the article points at one row.
    """

    def _allowed(self) -> list[str]:
        return list(getattr(self.crawler.spider, "allowed_domains", None) or [])

    def handle(self, obj: Any, response) -> Iterable[Any]:
        if isinstance(obj, Request):
            kind = obj.meta.get("govnews_kind")
            if kind not in ("article", "listing"):
                yield obj
                return
            section = obj.meta.get("section")
            parts = urlsplit(obj.url)
            if parts.scheme not in ("http", "https"):
                yield _error(section, obj.url, "bad_link", kind)
                return
            if not host_allowed(parts.hostname, self._allowed()):
                yield _error(section, obj.url, "offsite_link", kind)
                return
            clean = clean_url(obj.url)
            meta = {**obj.meta, "govnews_url": canonical_url(clean)}
            yield obj.replace(url=clean, meta=meta) if clean != obj.url else obj.replace(meta=meta)
            return
        if isinstance(obj, dict) and obj.get("kind") == "listing":
            allowed = self._allowed()
            items, seen = [], set()
            for it in obj.get("items") or []:
                parts = urlsplit(it.get("url") or "")
                if parts.scheme not in ("http", "https") or not host_allowed(parts.hostname, allowed):
                    continue  # the matching request is counted (bad_link / offsite_link) above
                url = canonical_url(it["url"])
                if url not in seen:
                    seen.add(url)
                    items.append({**it, "url": url})
            obj = {**obj, "items": items}
        elif isinstance(obj, dict) and obj.get("kind") == "article" and response is not None:
            record = obj["record"]
            record["url"] = response.meta.get("govnews_url") or canonical_url(response.request.url)
        yield obj


class ListingGuardMiddleware(_OutputMiddleware):
    """Stop a section's listing walk when its pager loops or never ends.

    A listing page (after the first) whose items were all already listed in this section during this
    run is a loop or a calendar trap: its next-page links are dropped (counted as listing_trap). A
    walk deeper than GOVNEWS_MAX_LISTING_PAGES pages is cut there (listing_page_cap, a failure: items
    may be missed).
    """

    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        self.max_pages = crawler.settings.getint("GOVNEWS_MAX_LISTING_PAGES", 5000)
        self.seen: dict[str, set[int]] = {}
        self.paths: set[str] = set()
        self.capped: set[str] = set()

    def handle(self, obj: Any, response) -> Iterable[Any]:
        if isinstance(obj, dict) and obj.get("kind") == "listing" and response is not None:
            seen = self.seen.setdefault(obj.get("section") or "", set())
            keys = {hash(it["url"]) for it in obj.get("items") or []}
            fresh = keys - seen
            seen |= keys
            # The first Hanweb dataproxy.jsp answer repeats the records its column page embedded: not a loop.
            where = f"{obj.get('section') or ''}\n{urlsplit(response.url).path}"
            first_data = str(obj.get("mechanism") or "").startswith("hanweb-dataproxy") and where not in self.paths
            self.paths.add(where)
            if keys and not fresh and (obj.get("page") or 1) > 1 and not first_data:
                response.meta["govnews_listing_trap"] = True
                yield obj
                yield _error(obj.get("section"), response.url, "listing_trap", "listing")
                return
        elif isinstance(obj, Request) and obj.meta.get("govnews_kind") == "listing":
            if response is not None and response.meta.get("govnews_listing_trap"):
                return
            section = obj.meta.get("section") or ""
            if (obj.cb_kwargs or {}).get("page", 1) > self.max_pages:
                if section not in self.capped:
                    self.capped.add(section)
                    yield _error(section, obj.url, "listing_page_cap", "listing")
                return
        yield obj


_MAGIC = (b"%PDF-", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\x1f\x8b",
          b"Rar!", b"7z\xbc\xaf", b"BM", b"II*\x00", b"MM\x00*", b"\x00\x00\x01\x00", b"ID3", b"OggS",
          b"RIFF", b"\x00\x00\x00\x18ftyp", b"\x00\x00\x00\x20ftyp")
_NOT_CONTROLS = bytes(b for b in range(256) if b >= 32 or b in b"\t\n\r\x0c\x1b")
_HTML_END = re.compile(rb"</(html|body)\s*>", re.I)


def looks_binary(body: bytes) -> bool:
    """True for images, PDFs, archives and other non-text bytes (a few stray NULs are still text)."""
    head = body[:2048].lstrip()
    if head.startswith(_MAGIC):
        return True
    sample = body[:4096]
    if not sample:
        return False
    controls = len(sample.translate(None, _NOT_CONTROLS))  # what is left: the control bytes
    return controls * 10 > len(sample)  # more than 10% control bytes: not a web page


class ResponseCheckMiddleware:
    """Refuse listing/article responses that cannot be a page, and turn callback crashes into errors.

    An empty 200, a binary body or a close-delimited body cut short (Scrapy flags it "partial")
    never reaches extraction, so it can never overwrite an archived article; an exception while
    parsing one page becomes a parse_error item and the section goes on.
    """

    @classmethod
    def from_crawler(cls, crawler):
        return cls()

    def process_spider_input(self, response, spider=None) -> None:
        kind = response.meta.get("govnews_kind")
        if kind not in ("article", "listing") or response.status in (304, 404, 410):
            return  # answers to a conditional re-check of a known article (crawler.incremental)
        body = response.body
        if not body.strip():
            raise PageRejected("empty_body", response.url)
        if "partial" in response.flags and not _HTML_END.search(body[-4096:]):
            # No Content-Length and the connection ended (maybe reset) before the page did.
            raise PageRejected("truncated_body", response.url)
        if looks_binary(body):
            ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
            if not ctype or "html" in ctype or "text" in ctype:
                raise PageRejected("binary_as_html", f"{response.url} ({ctype or 'no Content-Type'})")
            raise PageRejected("not_html_document", f"{response.url} ({ctype})")

    def process_spider_exception(self, response, exception, spider=None):
        if isinstance(exception, PageRejected):
            return None
        log.error("parse_error on %s: %r", response.url, exception, exc_info=exception)
        kind = response.meta.get("govnews_kind")
        return [_error(response.meta.get("section"), response.url, "parse_error", kind)]


_REDIRECTS = {301, 302, 303, 307, 308}


class RedirectGuardMiddleware:
    """Sits just before RedirectMiddleware: name redirect loops and off-site redirects as errors.

    Without it Scrapy drops both silently (the dupefilter eats a loop, the offsite filter eats the
    other host), so the article would vanish from the counts. A redirect to the same canonical URL
    (a server adding ;jsessionid=...) is followed even though its fingerprint was seen.
    """

    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response, spider=None):
        if response.status not in _REDIRECTS or request.meta.get("dont_redirect"):
            return response
        location = response.headers.get(b"Location")
        if not location:
            return response
        target = urljoin(request.url, location.decode("latin-1").strip())
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https"):
            raise PageRejected("bad_redirect", f"{request.url} -> {target}")
        allowed = getattr(self.crawler.spider, "allowed_domains", None) or []
        if not host_allowed(parts.hostname, allowed) and not request.meta.get("allow_offsite"):
            raise PageRejected("offsite_redirect", f"{request.url} -> {target}")
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain or clean_url(target) in {clean_url(u) for u in chain[:-1]}:
            raise PageRejected("redirect_loop", " -> ".join([*chain, target]))
        if canonical_url(target) == canonical_url(request.url):
            request.dont_filter = True  # copied onto the redirected request by RedirectMiddleware
        return response


class GzipGuardMiddleware:
    """Sits just before HttpCompressionMiddleware, which silently keeps whatever a truncated gzip
    stream yields: refuse a gzip/deflate body whose stream does not end cleanly, or that inflates
    past DOWNLOAD_MAXSIZE (a gzip bomb), before anyone reads it."""

    CHUNK = 256 * 1024

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getint("DOWNLOAD_MAXSIZE"))

    def process_response(self, request, response, spider=None):
        encoding = (response.headers.get(b"Content-Encoding") or b"").strip().lower()
        if encoding not in (b"gzip", b"x-gzip", b"deflate") or request.method == "HEAD" or not response.body:
            return response
        max_size = request.meta.get("download_maxsize", self.max_size)
        wbits = 47 if encoding != b"deflate" else 15  # 47: gzip or zlib header, auto-detected
        d = zlib.decompressobj(wbits)
        size = 0
        try:
            out = d.decompress(response.body, self.CHUNK)
            size += len(out)
            while d.unconsumed_tail and not d.eof:
                if max_size and size > max_size:
                    raise PageRejected("too_large", f"{request.url} inflates past {max_size} bytes")
                size += len(d.decompress(d.unconsumed_tail, self.CHUNK))
        except zlib.error as e:
            if encoding == b"deflate":
                return response  # raw deflate (no zlib header): leave it to HttpCompressionMiddleware
            raise PageRejected("corrupt_gzip", f"{request.url}: {e}") from None
        if max_size and size > max_size:
            raise PageRejected("too_large", f"{request.url} inflates past {max_size} bytes")
        if not d.eof:
            raise PageRejected("truncated_gzip", f"{request.url}: stream ends after {size} bytes")
        return response


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
    Each retry is counted as govnews/errors/retried."""

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.retry_after_max = settings.getfloat("GOVNEWS_RETRY_AFTER_MAX", 60.0)

    def _retry(self, request, reason):
        new = super()._retry(request, reason)
        if new is not None:
            self.crawler.stats.inc_value("govnews/errors/retried")
        return new

    async def process_response(self, request, response, spider=None):
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        delay = retry_after_seconds(response.headers.get(b"Retry-After"))
        if delay is not None and delay > self.retry_after_max:
            log.warning("%s asks to retry after %.0f s (> GOVNEWS_RETRY_AFTER_MAX): giving up on %s",
                        response.status, delay, request.url)
            return response
        new = self._retry(request, response_status_message(response.status))
        if new is None:
            return response
        if delay:
            from twisted.internet import reactor

            await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))
        return new


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


class WalCheckpoint:
    """Extension: keep the archive's -wal file small while the crawl writes and Datasette reads.

    SQLite's automatic checkpoints are PASSIVE and never shrink the file; a reader that is always
    busy can starve them and the WAL grows. After each item the pipeline wrote (at most every 0.1 s)
    and every GOVNEWS_WAL_CHECK_INTERVAL seconds, if the -wal file is over GOVNEWS_WAL_MAX_BYTES, run
    a TRUNCATE checkpoint from a separate connection with a short busy timeout (it waits only for
    in-flight reads; a busy attempt is simply tried again later).
    """

    MIN_GAP = 0.1  # seconds between two checkpoint attempts

    def __init__(self, crawler, db: str, max_bytes: int, interval: float) -> None:
        self.crawler, self.db, self.max_bytes, self.interval = crawler, db, max_bytes, interval
        self.wal = db + "-wal"
        self.task = None
        self.checkpoints = 0
        self._last = 0.0
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)
        crawler.signals.connect(self.written, signal=signals.item_scraped)

    @classmethod
    def from_crawler(cls, crawler):
        db = crawler.settings.get("GOVNEWS_DB")
        if not db:
            raise NotConfigured
        return cls(crawler, str(db), crawler.settings.getint("GOVNEWS_WAL_MAX_BYTES", 8 * 1024 * 1024),
                   crawler.settings.getfloat("GOVNEWS_WAL_CHECK_INTERVAL", 1.0))

    def opened(self, spider=None) -> None:
        from twisted.internet import task

        self.task = task.LoopingCall(self.tick)
        self.task.start(self.interval, now=False)

    def written(self, item=None, response=None, spider=None) -> None:
        if time.monotonic() - self._last >= self.MIN_GAP:
            self.tick(timeout=0.05)  # between items: wait less for readers, the next item tries again

    def tick(self, timeout: float = 0.25) -> None:
        try:
            size = os.path.getsize(self.wal)
        except OSError:
            return
        if size <= self.max_bytes:
            return
        self._last = time.monotonic()
        try:
            conn = sqlite3.connect(self.db, timeout=timeout, isolation_level=None)
            try:
                busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                conn.close()
        except sqlite3.Error as e:
            log.debug("WAL checkpoint skipped: %s", e)
            return
        if not busy:
            self.checkpoints += 1
            self.crawler.stats.inc_value("govnews/wal_checkpoints")

    def closed(self, spider=None, reason=None) -> None:
        if self.task and self.task.running:
            self.task.stop()


__all__ = ["CanonicalFingerprinter", "LinkPolicyMiddleware", "ListingGuardMiddleware", "ResponseCheckMiddleware",
           "RedirectGuardMiddleware", "GzipGuardMiddleware", "RetryAfterMiddleware", "ErrorStats", "WalCheckpoint",
           "canonical_url", "clean_url", "error_kind", "host_allowed", "looks_binary", "retry_after_seconds"]
