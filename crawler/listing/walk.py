"""Walking one section's listing pages: what to fetch next, and when to stop.

The pure extractor says what a page points to; this keeps the walk's memory: the pages it saw, the
articles it found, and the reasons it stops (last page, a pager that shows an earlier page again for
out-of-range numbers, no new articles twice in a row, a page cap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_PAGES = 5000


@dataclass
class SectionWalk:
    section: str
    max_pages: int = MAX_PAGES
    pages: list[str] = field(default_factory=list)
    items: set[str] = field(default_factory=set)
    stopped: str | None = None
    _lists: set[tuple] = field(default_factory=set)
    _requested: set[tuple] = field(default_factory=set)
    _barren: int = 0

    def _key(self, req: dict) -> tuple:
        return (req.get("method") or "GET").upper(), req["url"], req.get("body") or ""

    def start(self, url: str) -> None:
        self._requested.add(("GET", url, ""))

    def follow(self, url: str, result: dict, first: bool) -> list[dict]:
        """Record one listing page (or data answer) and return the further requests to make."""
        self.pages.append(url)
        urls = [i["url"] for i in result.get("items") or []]
        new = [u for u in urls if u not in self.items]
        self.items.update(urls)
        listed = (urlsplit(url).path, tuple(urls))
        if urls and listed in self._lists:
            self.stopped = f"page repeats an earlier page: {url}"
            return []
        self._lists.add(listed)
        self._barren = 0 if new else self._barren + 1
        if self._barren >= 2:
            self.stopped = f"no new articles on two pages in a row: {url}"
            return []
        if len(self.pages) >= self.max_pages:
            self.stopped = f"page cap {self.max_pages} reached"
            return []
        if not urls and not first:
            self.stopped = "last page"
            return []
        wanted = []
        if result.get("next_page"):
            wanted.append({"url": result["next_page"], "method": "GET", "body": None, "headers": {}})
        wanted.extend(result.get("requests") or [])
        out = []
        for req in wanted:
            key = self._key(req)
            if key not in self._requested:
                self._requested.add(key)
                out.append(req)
        if not out:
            self.stopped = self.stopped or "last page"
        return out
