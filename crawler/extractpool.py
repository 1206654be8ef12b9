"""Run article extraction inline or in worker processes (GOVNEWS_EXTRACT_PROCESSES).

Extraction is most of a crawl's CPU time (several ms a page, against about one for everything Scrapy
does); in one process it caps a crawl at one core. With GOVNEWS_EXTRACT_PROCESSES = N > 0, pages are
extracted by N worker processes while the crawl process keeps fetching and writing. 0 (the default)
extracts inline: polite crawls of real servers fetch a page or two a second and gain nothing.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from crawler.extract import extract_article


def _plain_headers(headers) -> dict | None:
    """Scrapy's Headers as a plain picklable dict (first value of each header)."""
    if not headers:
        return None
    out = {}
    for k, v in headers.items():
        if isinstance(v, list):
            v = v[0] if v else b""
        out[k.decode("latin-1") if isinstance(k, bytes) else k] = v.decode("latin-1") if isinstance(v, bytes) else v
    return out


class Extractor:
    def __init__(self, processes: int = 0) -> None:
        self.processes = max(0, processes)
        self.pool: ProcessPoolExecutor | None = None
        if self.processes:
            # spawn: workers must not inherit the crawl's reactor, sockets and SQLite connection.
            self.pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"))

    @classmethod
    def from_settings(cls, settings) -> Extractor:
        return cls(settings.getint("GOVNEWS_EXTRACT_PROCESSES", 0))

    async def extract(self, url: str, body: bytes, headers=None, overrides: dict | None = None) -> dict:
        if self.pool is None:
            return extract_article(url, body, headers, overrides=overrides)
        future = self.pool.submit(extract_article, url, body, _plain_headers(headers), overrides)
        return await asyncio.wrap_future(future)

    def close(self, *args, **kwargs) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None
