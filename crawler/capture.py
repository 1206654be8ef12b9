"""Write every response the crawler receives to WARC (archive.warc), as it came off the wire.

A downloader middleware placed below HttpCompressionMiddleware, RedirectMiddleware and RetryMiddleware
(see settings.DOWNLOADER_MIDDLEWARES), so it sees each raw response — every redirect hop, every
retried 5xx, robots.txt — before anything decodes or replaces it. It stores the capture pointer in
request.meta["govnews_capture"] for the spider side to save next to what it extracts, and hands the
capture's index row to the archive writer (crawler.writer), the one component that writes SQLite.

A response rendered by the browser (crawler.browser, scrapy-playwright) is not what came off the wire:
its body is the DOM after the page's scripts ran. For it, every response the browser itself received
(the document, a challenge and its reload, XHR data, scripts) is written as a response record, and the
rendered DOM as a resource record, all marked `GovNews-Fetched-By: browser`; the capture pointer
handed to the spider is the rendered DOM's (what was extracted). See docs/browser.md.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from http import HTTPStatus
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.http import Response
from scrapy.utils.misc import load_object

from archive.store import data_dir
from archive.warc import DEFAULT_GZIP_LEVEL, DEFAULT_MAX_SIZE, Capture, Exchange, WarcWriter, payload_digest
from crawler.errors import PageRejected, is_disk_full
from crawler.writer import ArchiveWriter

log = logging.getLogger(__name__)
BROWSER_NOTE = {"GovNews-Fetched-By": "browser"}


def request_target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def header_pairs(headers) -> list[tuple[bytes, bytes]]:
    """Every header value, duplicates kept (Scrapy keeps a list of values per name)."""
    return [(k, v) for k, values in headers.items() for v in values]


class WarcCaptureMiddleware:
    def __init__(self, crawler) -> None:
        s = crawler.settings
        self.crawler = crawler
        # Where capture index rows go: the archive writer, or (on a distributed worker) the relay that
        # sends them to the coordinator with the request's envelope (GOVNEWS_CAPTURE_INDEX).
        index = s.get("GOVNEWS_CAPTURE_INDEX")
        self.archive_writer = (load_object(index) if index else ArchiveWriter).of(crawler)
        self.directory = Path(s.get("GOVNEWS_WARC_DIR") or data_dir(s.get("GOVNEWS_DB"), "warc"))
        self.max_size = s.getint("GOVNEWS_WARC_MAX_SIZE", DEFAULT_MAX_SIZE)
        self.settings = s
        self.writer: WarcWriter | None = None
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _open(self) -> None:
        s, run_id = self.settings, self.archive_writer.run_id
        site = getattr(self.crawler.spider, "site", None)
        site_name = site.name if site else "crawl"
        info = {
            "software": f"govnews-archive/{version('govnews-archive')} (warcio/{version('warcio')}, "
                        f"Scrapy/{version('scrapy')})",
            "operator": s.get("GOVNEWS_OPERATOR") or "unknown (set --operator)",
            "robots": "obey" if s.getbool("ROBOTSTXT_OBEY") else "ignore",
            "http-header-user-agent": s.get("USER_AGENT"),
            "isPartOf": site_name,
            "description": f"govnews-archive crawl run {run_id} of site {site_name}",
            "govnews-crawl-run": str(run_id),
        }
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        worker = s.get("GOVNEWS_WORKER_ID")  # distributed workers: one set of files each
        prefix = f"{site_name}-r{run_id or 0:06d}-{stamp}" + (f"-{worker}" if worker else "")
        self.writer = WarcWriter(self.directory, prefix, info, self.max_size,
                                 s.getint("GOVNEWS_WARC_GZIP_LEVEL", DEFAULT_GZIP_LEVEL))

    def process_response(self, request: Request, response: Response) -> Response:
        if self.archive_writer.full:
            raise PageRejected("disk_full", request.url)  # the crawl is stopping: nothing more is archived
        try:
            return self._capture(request, response)
        except (OSError, sqlite3.Error) as e:
            if not is_disk_full(e):
                raise
            where = self.directory / self.writer.name if isinstance(e, OSError) and self.writer else \
                self.settings.get("GOVNEWS_DB")
            self.archive_writer.disk_full(e, where)  # the WARC file is cut back to its last whole record
            raise PageRejected("disk_full", request.url) from None

    def _capture(self, request: Request, response: Response) -> Response:
        if self.writer is None:
            self._open()
        assert self.writer is not None
        fetch = request.meta.get("govnews_browser")
        if fetch is not None and "playwright" in response.flags:
            request.meta["govnews_capture"] = self._browser_captures(request, response, fetch).pointer()
            return response
        body = response.body
        status = response.status
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        headers = header_pairs(request.headers)
        host = urlsplit(request.url).netloc
        # Headers the HTTP client adds on the wire, so the request record reads as what was sent.
        if not any(k.lower() == b"host" for k, _ in headers):
            headers.insert(0, (b"Host", host.encode("latin-1")))
        if request.body and not any(k.lower() == b"content-length" for k, _ in headers):
            headers.append((b"Content-Length", str(len(request.body)).encode()))
        ex = Exchange(url=request.url, method=request.method, target=request_target(request.url),
                      request_headers=headers, request_body=request.body or b"", status=status, reason=reason,
                      protocol=response.protocol or "HTTP/1.1", response_headers=header_pairs(response.headers),
                      body=body, ip_address=str(response.ip_address) if response.ip_address else None)
        mime = response.headers.get("Content-Type", b"").decode("latin-1")
        kind = request.meta.get("govnews_kind", "robots" if request.url.endswith("/robots.txt") else None)
        request.meta["govnews_capture"] = self._write(ex, kind, mime, request).pointer()
        return response

    def _write(self, ex: Exchange, kind: str | None, content_type: str, request: Request) -> Capture:
        assert self.writer is not None
        # Identical payloads already captured become revisit records (2xx bodies only: an empty or
        # error body is not worth pointing back to).
        original = None
        if 200 <= ex.status < 300 and ex.body:
            original = self.archive_writer.original_capture(payload_digest(ex.body))
        capture = self.writer.write(ex, revisit_of=original)
        mime = content_type.split(";")[0].strip() or None
        self.archive_writer.save_capture(ex.url, kind, ex.status, mime, len(ex.body), capture, request=request)
        stats = self.crawler.stats
        stats.inc_value("govnews/warc_records")
        stats.inc_value("govnews/warc_revisits" if original else "govnews/warc_responses")
        return capture

    def _browser_captures(self, request: Request, response: Response, fetch) -> Capture:
        """The browser's own network responses, then the rendered DOM (whose capture is returned)."""
        assert self.writer is not None
        kind = request.meta.get("govnews_kind")
        for r in fetch.received:
            ex = Exchange(url=r.url, method=r.method, target=request_target(r.url), request_headers=r.request_headers,
                          request_body=r.request_body, status=r.status, reason=r.reason, protocol="HTTP/1.1",
                          response_headers=r.headers, body=r.body, notes=BROWSER_NOTE)
            content_type = next((v for k, v in r.headers if k.lower() == "content-type"), "")
            self._write(ex, kind if r.document else "browser", content_type, request)
            self.crawler.stats.inc_value("govnews/browser_responses")
        if fetch.refused:
            self.crawler.stats.inc_value("govnews/browser_offsite_refused", len(fetch.refused))
        encoding = getattr(response, "encoding", None) or "utf-8"
        capture = self.writer.write_resource(response.url, response.body, f"text/html; charset={encoding}",
                                             BROWSER_NOTE)
        self.archive_writer.save_capture(response.url, f"{kind}-rendered" if kind else "rendered", fetch.status or
                                         response.status, "text/html", len(response.body), capture)
        self.crawler.stats.inc_value("govnews/warc_records")
        return capture

    def close(self, spider=None, reason: str | None = None) -> None:
        if self.writer is not None:
            self.crawler.stats.set_value("govnews/warc_files", list(self.writer.files))
            try:
                self.writer.close()
            except OSError as e:
                if not is_disk_full(e):
                    raise
