"""Pages that need a browser, rendered by a real headless Chromium through scrapy-playwright.

- `BrowserAddon` (settings ADDONS): when Chromium is found, routes http(s) through scrapy-playwright's
  download handler — requests without `playwright=True` meta still go through Scrapy's own HTTP client —
  with Debian's /usr/bin/chromium, a bounded pool of pages and a page timeout. Without Chromium the crawl
  runs as before and the spider records `needs_browser`.
- `BrowserFetch`: one browser request. It records every response the browser received (the document,
  each reload, XHR data, scripts) for crawler.capture to write to WARC, waits until an anti-bot challenge
  has passed (the page's own script sets its cookie and reloads) and the network is quiet, and keeps the
  final document's status and the cookies the page earned (crawler.frontier hands them to plain requests).

Which pages go through the browser is the frontier's decision (crawler.frontier.Frontier.render).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from crawler.listing.shell import ANTI_BOT_STATUS, CHALLENGE_SIGNS
from crawler.urls import host_allowed

log = logging.getLogger(__name__)

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
INSTALL_HINT = "install Debian's chromium (apt-get install chromium fonts-wqy-microhei) or set GOVNEWS_CHROMIUM"
# Hop-by-hop and coding headers: Playwright hands bodies over decoded and de-chunked.
DECODED_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


def find_chromium(configured: str | None = None) -> str | None:
    """The Chromium executable to drive: the setting, $GOVNEWS_CHROMIUM, /usr/bin/chromium, $PATH."""
    explicit = configured or os.environ.get("GOVNEWS_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


class BrowserAddon:
    """Turns the browser on when Chromium is present (GOVNEWS_BROWSER = False turns it off)."""

    def update_settings(self, settings) -> None:
        executable = find_chromium(settings.get("GOVNEWS_CHROMIUM")) if settings.getbool("GOVNEWS_BROWSER", True) else None
        settings.set("GOVNEWS_BROWSER_READY", bool(executable), priority="addon")
        if not executable:
            return
        handler = "crawler.browser_handler.LazyPlaywrightHandler"
        settings.set("DOWNLOAD_HANDLERS", {**settings.getdict("DOWNLOAD_HANDLERS"), "http": handler,
                                           "https": handler}, priority="addon")
        settings.set("PLAYWRIGHT_BROWSER_TYPE", "chromium", priority="addon")
        settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", {"executable_path": executable, "headless": True,
                                                   "args": CHROMIUM_FLAGS}, priority="addon")
        # One context: the cookies a challenge earns serve every later page of the host.
        settings.set("PLAYWRIGHT_MAX_CONTEXTS", 1, priority="addon")
        settings.set("PLAYWRIGHT_MAX_PAGES_PER_CONTEXT", settings.getint("GOVNEWS_BROWSER_PAGES", 2), priority="addon")
        timeout_ms = settings.getfloat("GOVNEWS_BROWSER_TIMEOUT", 30) * 1000
        settings.set("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", timeout_ms, priority="addon")
        settings.set("PLAYWRIGHT_PROCESS_REQUEST_HEADERS", "crawler.browser.browser_headers", priority="addon")
        settings.set("PLAYWRIGHT_CONTEXTS", {"default": {"locale": "zh-CN", "java_script_enabled": True,
                                                         "user_agent": settings.get("USER_AGENT")}},
                     priority="addon")


async def browser_headers(*, browser_type_name: str, playwright_request, scrapy_request_data: dict) -> dict:
    """The browser's own request headers (with the cookies it earned), under the crawl's User-Agent.

    scrapy-playwright's default sends Scrapy's headers for every navigation, which would drop the
    cookie a challenge page sets before it reloads."""
    headers = await playwright_request.all_headers()
    ours = scrapy_request_data["headers"].to_unicode_dict()
    for name in ("user-agent", "accept-language"):
        if ours.get(name):
            headers[name] = ours[name]
    return headers


@dataclass
class Received:
    """One response the browser received, with the request it answered."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    resource_type: str
    document: bool  # the main frame's document (the page itself or a reload of it)


@dataclass
class BrowserFetch:
    """What one browser request received and where it ended; put in request.meta["govnews_browser"]."""

    timeout: float = 30.0
    max_body: int = 32 * 1024 * 1024
    hosts: tuple[str, ...] = ()  # the site's allowed hosts: the browser requests nothing else
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # off-site requests the page tried, aborted
    cookies: str = ""  # document.cookie once the page settled
    challenged: bool = False  # a challenge document came first
    _pending: set = field(default_factory=set)

    @property
    def document(self) -> Received | None:
        docs = [r for r in self.received if r.document]
        return docs[-1] if docs else None

    @property
    def status(self) -> int | None:
        doc = self.document
        return doc.status if doc else None

    def meta(self) -> dict:
        """The request meta that sends a request through the browser."""
        from scrapy_playwright.page import PageMethod

        return {"playwright": True, "playwright_context": "default", "govnews_browser": self,
                "playwright_page_init_callback": self.attach,
                "playwright_page_methods": [PageMethod(self.settle)]}

    async def attach(self, page, request) -> None:
        """scrapy-playwright's page init callback: listen to every response before the page loads, and
        refuse off-site requests (this route runs before scrapy-playwright's, which it falls back to)."""
        page.on("response", lambda response: self._track(page, response))
        await page.route("**", self._offsite)

    async def _offsite(self, route, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https") and not host_allowed(parts.hostname, self.hosts):
            self.refused.append(request.url)
            await route.abort("blockedbyclient")
            return
        await route.fallback()

    def _track(self, page, response) -> None:
        task = asyncio.ensure_future(self._record(page, response))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _record(self, page, response) -> None:
        from playwright.async_api import Error

        request = response.request
        body = b""
        if not 300 <= response.status < 400:
            with suppress(Error):
                body = await response.body()
        if len(body) > self.max_body:
            body = b""
        with suppress(Error):
            request_headers = [(h["name"], h["value"]) for h in await request.headers_array()]
            headers = [(h["name"], h["value"]) for h in await response.headers_array()
                       if h["name"].lower() not in DECODED_HEADERS]
            if body:
                headers.append(("Content-Length", str(len(body))))
            document = request.is_navigation_request() and response.frame == page.main_frame
            if document and response.status in ANTI_BOT_STATUS:
                self.challenged = True
            self.received.append(Received(response.url, request.method, request_headers, request.post_data_buffer or b"",
                                          response.status, response.status_text, headers, body,
                                          request.resource_type, document))

    async def settle(self, page) -> None:
        """A page method: wait out a challenge (its script reloads the page) and the page's own XHRs."""
        from playwright.async_api import Error

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while loop.time() < deadline:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
            doc = self.document
            with suppress(Error):
                if doc and doc.status not in ANTI_BOT_STATUS and \
                        await page.evaluate("document.readyState") == "complete" and \
                        not CHALLENGE_SIGNS.search(await page.content()):
                    break
            await asyncio.sleep(0.05)
        with suppress(Error):
            await page.wait_for_load_state("networkidle", timeout=self.timeout * 1000)
        await asyncio.gather(*list(self._pending), return_exceptions=True)
        with suppress(Error):
            self.cookies = await page.evaluate("document.cookie")
