"""Same article under many URLs (session ids, tracking parameters, index.html vs /): one fingerprint."""

from __future__ import annotations

import weakref

from scrapy import Request
from scrapy.utils.request import RequestFingerprinter

from crawler.urls import canonical_url


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
