"""Write every response the crawler receives to WARC (archive.warc), as it came off the wire.

A downloader middleware placed below HttpCompressionMiddleware, RedirectMiddleware and RetryMiddleware
(see settings.DOWNLOADER_MIDDLEWARES), so it sees each raw response — every redirect hop, every
retried 5xx, robots.txt — before anything decodes or replaces it. It stores the capture pointer in
request.meta["govnews_capture"] for the spider side to save next to what it extracts, and hands the
capture's index row to the archive writer (crawler.writer), the one component that writes SQLite.
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
from archive.warc import DEFAULT_MAX_SIZE, Exchange, WarcWriter, payload_digest
from crawler.errors import PageRejected, is_disk_full
from crawler.writer import ArchiveWriter

log = logging.getLogger(__name__)


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
        self.writer = WarcWriter(self.directory, prefix, info, self.max_size)

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
        # Identical payloads already captured become revisit records (2xx bodies only: an empty or
        # error body is not worth pointing back to).
        original = None
        if 200 <= status < 300 and body:
            original = self.archive_writer.original_capture(payload_digest(body))
        capture = self.writer.write(ex, revisit_of=original)
        mime = response.headers.get("Content-Type", b"").decode("latin-1").split(";")[0].strip() or None
        self.archive_writer.save_capture(request.url, request.meta.get("govnews_kind", "robots" if
                                         request.url.endswith("/robots.txt") else None), status, mime, len(body),
                                         capture, request=request)
        request.meta["govnews_capture"] = capture.pointer()
        stats = self.crawler.stats
        stats.inc_value("govnews/warc_records")
        stats.inc_value("govnews/warc_revisits" if original else "govnews/warc_responses")
        return response

    def close(self, spider=None, reason: str | None = None) -> None:
        if self.writer is not None:
            self.crawler.stats.set_value("govnews/warc_files", list(self.writer.files))
            try:
                self.writer.close()
            except OSError as e:
                if not is_disk_full(e):
                    raise
