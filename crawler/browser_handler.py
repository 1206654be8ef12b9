"""scrapy-playwright's download handler, starting Playwright only when a request first needs the browser.

The stock handler starts the Playwright driver at engine start; most crawls never render a page, so
this one waits for the first `playwright=True` request. Everything else is scrapy-playwright's own.
"""

from __future__ import annotations

import asyncio

from scrapy import signals
from scrapy.http import Request, Response
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler


class LazyPlaywrightHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        crawler.signals.disconnect(self._maybe_launch_in_thread, signals.engine_started)
        crawler.signals.disconnect(self._engine_started, signals.engine_started)
        self._start_lock = asyncio.Lock()

    async def _download_request(self, request: Request, spider=None) -> Response:
        async with self._start_lock:
            if getattr(self, "browser_provider", None) is None:
                await self._launch()
        return await super()._download_request(request, spider)
