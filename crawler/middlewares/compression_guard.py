"""Refuse truncated, corrupt or bombing compressed bodies before HttpCompressionMiddleware decodes them."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import brotli
from scrapy.downloadermiddlewares.httpcompression import ACCEPTED_ENCODINGS

from crawler.errors import PageRejected

try:
    from compression import zstd  # Python 3.14+
except ImportError:  # pragma: no cover - the backport Scrapy requires before 3.14
    from backports import zstd

CHUNK = 256 * 1024


class Truncated(Exception):
    """The compressed stream stops before its end (the body was cut short)."""


class TooLarge(Exception):
    """The body inflates past the size limit (a compression bomb)."""


class Corrupt(Exception):
    """The compressed stream is not valid (bad header, bad data, failed checksum)."""


def _gzip(data: bytes) -> Iterator[bytes]:
    """Every member of a (multi-member) gzip stream; a member that starts and does not end is truncated.
    Zero padding and trailing bytes that do not start a member are ignored, as gzip(1) and Scrapy do."""
    first = True
    while first or data:
        d = zlib.decompressobj(31)
        try:
            yield from _drain(d, d.decompress(data, CHUNK))
        except zlib.error as e:
            raise Corrupt(str(e)) from None
        if not d.eof:
            raise Truncated(f"gzip member {'1' if first else 'after the first'} ends early")
        first = False
        data = d.unused_data.lstrip(b"\0")
        if not (data[:2] == b"\x1f\x8b" or data == b"\x1f"):
            return


def _drain(d, out: bytes) -> Iterator[bytes]:
    """The rest of one zlib stream's output, a chunk at a time, until it ends or the input runs out."""
    while True:
        yield out
        if d.eof:
            return
        out = d.decompress(d.unconsumed_tail, CHUNK)  # held-back input, or held-back output
        if not out and not d.unconsumed_tail:
            return  # all input consumed, stream not ended: cut short (the caller checks d.eof)


def _deflate(data: bytes) -> Iterator[bytes]:
    """zlib-wrapped deflate (what RFC 9110 means), or raw deflate (what some servers send)."""
    for wbits in (15, -15):
        d = zlib.decompressobj(wbits)
        try:
            out = d.decompress(data, CHUNK)
        except zlib.error as e:
            if wbits == 15:
                continue
            raise Corrupt(str(e)) from None
        try:
            yield from _drain(d, out)
        except zlib.error as e:
            raise Corrupt(str(e)) from None
        if not d.eof:
            raise Truncated("deflate stream ends early")
        return


def _brotli(data: bytes) -> Iterator[bytes]:
    d = brotli.Decompressor()
    try:
        out = d.process(data, output_buffer_limit=CHUNK)
        while True:
            yield out
            if d.is_finished():
                break
            out = d.process(b"", output_buffer_limit=CHUNK)  # what the limit held back, if anything
            if not out:
                break  # all input consumed, stream not finished: cut short
    except brotli.error as e:
        raise Corrupt(str(e) or "invalid brotli stream") from None
    if not d.is_finished():
        raise Truncated("brotli stream ends early")


def _zstd(data: bytes) -> Iterator[bytes]:
    """Every frame of a zstd stream (several frames are one body, as zstd(1) and Scrapy read them)."""
    while True:
        d = zstd.ZstdDecompressor()
        try:
            out = d.decompress(data, CHUNK)
            while True:
                yield out
                if d.eof:
                    break
                out = d.decompress(b"", CHUNK)
                if not out and d.needs_input:
                    break
        except zstd.ZstdError as e:
            raise Corrupt(str(e)) from None
        if not d.eof:
            raise Truncated("zstd frame ends early")
        data = d.unused_data
        if not data:
            return


DECODERS: dict[bytes, Callable[[bytes], Iterator[bytes]]] = {
    b"gzip": _gzip, b"x-gzip": _gzip, b"deflate": _deflate, b"br": _brotli, b"zstd": _zstd}
assert set(ACCEPTED_ENCODINGS) <= set(DECODERS), "an encoding Scrapy decodes that the guard cannot check"


def encodings_to_check(headers_values: list[bytes]) -> list[bytes]:
    """The encodings HttpCompressionMiddleware will undo, outermost (last applied) first."""
    listed = [e.strip().lower() for v in headers_values for e in v.split(b",") if e.strip()]
    out = []
    for enc in reversed(listed):
        if enc not in DECODERS:
            break  # Scrapy stops decoding at the first encoding it does not know
        out.append(enc)
    return out


def check_body(body: bytes, encodings: list[bytes], max_size: int) -> int:
    """Decode `body` through `encodings` (outermost first) without keeping more than one chunk of the
    last layer; return the decoded size. Raises Truncated, Corrupt or TooLarge."""
    for i, enc in enumerate(encodings):
        size, last, parts = 0, i == len(encodings) - 1, []
        for chunk in DECODERS[enc](body):
            size += len(chunk)
            if max_size and size > max_size:
                raise TooLarge(f"inflates past {max_size} bytes")
            if not last:
                parts.append(chunk)
        if not last:
            body = b"".join(parts)
    return size


class CompressionGuardMiddleware:
    """Sits just before HttpCompressionMiddleware, which silently keeps whatever a truncated stream
    yields: refuse a gzip (one member or several), deflate, br or zstd body whose stream does not end
    (`truncated_body`), that is not valid (`corrupt_body`), or that inflates past DOWNLOAD_MAXSIZE (a
    bomb: `too_large`, found in 256 KiB steps), before anyone reads it."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getint("DOWNLOAD_MAXSIZE"))

    def process_response(self, request, response, spider=None):
        if request.method == "HEAD" or not response.body:
            return response
        encodings = encodings_to_check(response.headers.getlist(b"Content-Encoding"))
        if not encodings:
            return response
        max_size = request.meta.get("download_maxsize", self.max_size)
        label = ", ".join(e.decode() for e in reversed(encodings))
        try:
            check_body(response.body, encodings, max_size)
        except TooLarge as e:
            raise PageRejected("too_large", f"{request.url}: {label} body {e}") from None
        except Truncated as e:
            raise PageRejected("truncated_body", f"{request.url}: {e} ({len(response.body)} bytes received)") from None
        except Corrupt as e:
            raise PageRejected("corrupt_body", f"{request.url}: {label}: {e}") from None
        return response
