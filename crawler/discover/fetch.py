"""The pages discovery reads: one GET at a time with the crawler's User-Agent, robots.txt obeyed, a
delay between requests to a real host (none on loopback fixtures) and a budget of pages."""

from __future__ import annotations

import time
import urllib.robotparser
from dataclasses import dataclass, field
from ipaddress import ip_address
from urllib.parse import urlsplit

from crawler.listing.probe import fetch as http_get


class BudgetSpent(Exception):
    """More pages than --max-pages would be fetched."""


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass
class Page:
    url: str
    body: bytes
    headers: dict
    status: int | None  # None: no answer (connection refused, DNS, timeout)
    error: str | None = None


@dataclass
class Fetcher:
    max_pages: int = 120
    delay: float = 1.0  # seconds between requests to a real host
    timeout: float = 30
    fetched: list[str] = field(default_factory=list)
    _cache: dict[str, Page] = field(default_factory=dict)
    _robots: dict[str, urllib.robotparser.RobotFileParser | None] = field(default_factory=dict)
    _last: float = 0.0

    def _wait(self, url: str) -> None:
        if is_loopback(url):
            return
        pause = self._last + self.delay - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        self._last = time.monotonic()

    def allowed(self, url: str) -> bool:
        from crawler import settings

        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            robots = urllib.robotparser.RobotFileParser()
            try:
                self._wait(url)
                body, _, status = http_get(origin + "/robots.txt", self.timeout)
                robots.parse(body.decode("utf-8", "replace").splitlines() if status == 200 else [])
            except OSError:
                robots.parse([])
            self._robots[origin] = robots
        robots = self._robots[origin]
        return robots is None or robots.can_fetch(settings.USER_AGENT, url)

    def get(self, url: str) -> Page:
        """The page at url (fetched once; an answer is cached, an error too)."""
        if url in self._cache:
            return self._cache[url]
        if not self.allowed(url):
            page = Page(url, b"", {}, None, "robots.txt disallows it")
        elif len(self.fetched) >= self.max_pages:
            raise BudgetSpent(f"more than {self.max_pages} pages (--max-pages)")
        else:
            self._wait(url)
            self.fetched.append(url)
            try:
                body, headers, status = http_get(url, self.timeout)
                page = Page(url, body, headers, status)
            except (OSError, ValueError) as e:
                page = Page(url, b"", {}, None, f"{type(e).__name__}: {getattr(e, 'reason', e)}")
        self._cache[url] = page
        return page
