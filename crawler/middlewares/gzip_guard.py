"""Refuse truncated or bombing gzip/deflate bodies before HttpCompressionMiddleware decodes them."""

from __future__ import annotations

import zlib

from crawler.errors import PageRejected


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
