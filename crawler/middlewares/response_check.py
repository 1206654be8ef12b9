"""Refuse listing and article responses that cannot be a page; turn a callback crash into an error."""

from __future__ import annotations

import logging
import re

from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawler.errors import PageRejected
from crawler.items import CrawlError

log = logging.getLogger(__name__)

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



class ResponseCheckMiddleware(BaseSpiderMiddleware):
    """Refuse listing/article responses that cannot be a page, and turn callback crashes into errors.

    An empty 200, a binary body or a close-delimited body cut short (Scrapy flags it "partial")
    never reaches extraction, so it can never overwrite an archived article; an exception while
    parsing one page becomes a parse_error item and the section goes on.
    """

    def process_spider_input(self, response, spider=None) -> None:
        kind = response.meta.get("govnews_kind")
        if kind not in ("article", "listing") or response.status in (304, 404, 410):
            return  # answers to a conditional re-check of a known article (crawler.frontier)
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
        return [CrawlError(response.meta.get("section"), response.url, "parse_error", kind)]
