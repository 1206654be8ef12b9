"""Run article extraction inline or in worker processes (GOVNEWS_EXTRACT_PROCESSES).

Extraction is most of a crawl's CPU time (several ms a page, against about one for everything Scrapy
does); in one process it caps a crawl at one core. With GOVNEWS_EXTRACT_PROCESSES = N > 0, pages are
extracted by N worker processes while the crawl process keeps fetching and writing. 0 (the default)
extracts inline: polite crawls of real servers fetch a page or two a second and gain nothing.

Where extraction runs outside the archive writer's process (these workers, or a distributed crawl's
worker, GOVNEWS_WORKER_ID), it also computes the search index's bigram text of the body and title
(record["fts_text"], archive.search.index_text), which the writer then takes instead of computing it in
its SQLite trigger (archive.rows): CPU moved off the one writer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from archive.rows import text_check
from archive.search import index_text
from crawler.extract import extract_article


def extract_with_index_text(url: str, body: bytes, headers=None, overrides: dict | None = None) -> dict:
    """extract_article, plus the bigram text the archive's search index stores for the body and title."""
    record = extract_article(url, body, headers, overrides=overrides)
    record["fts_text"] = {k: [text_check(record[k]), index_text(record[k])] for k in ("body", "title")
                          if isinstance(record.get(k), str)}
    return record


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
    def __init__(self, processes: int = 0, index_text: bool = False) -> None:
        self.processes = max(0, processes)
        # The bigram text too, when this is not the writer's process (workers always are not).
        self.inline = extract_with_index_text if index_text else extract_article
        self.pool: ProcessPoolExecutor | None = None
        if self.processes:
            # spawn: workers must not inherit the crawl's reactor, sockets and SQLite connection.
            self.pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"))

    @classmethod
    def from_settings(cls, settings) -> Extractor:
        return cls(settings.getint("GOVNEWS_EXTRACT_PROCESSES", 0), index_text=bool(settings.get("GOVNEWS_WORKER_ID")))

    async def extract(self, url: str, body: bytes, headers=None, overrides: dict | None = None) -> dict:
        if self.pool is None:
            return self.inline(url, body, headers, overrides=overrides)
        future = self.pool.submit(extract_with_index_text, url, body, _plain_headers(headers), overrides)
        return await asyncio.wrap_future(future)

    def close(self, *args, **kwargs) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None
