"""The walk controller: the one owner of every section's listing-walk state and stop rules.

The pure listing extractor says what a page lists and points to; the controller decides which further
listing requests to make and when a section's walk stops, and why:

- "last page": a page after the first lists nothing, or points nowhere new;
- "page repeats an earlier page": the same items at the same path again (a pager that shows its last
  page for out-of-range numbers);
- "listing trap": a page after the first lists only articles this walk already saw (a loop or a
  calendar trap), also reported as a listing_trap error;
- "no new articles on two pages in a row";
- "all known": every item of a page is known to the archive and the previous walk completed (incremental runs;
  --full walks on);
- "--pages N": the operator's cap; "page cap N": GOVNEWS_MAX_LISTING_PAGES, a listing_page_cap failure.

It also keeps what the section says of its own size (the first stated record and page counts,
crawler/listing/totals.py), reported with the walk's end for coverage.

It counts each section's listing requests in flight, so it knows when a walk has ended (complete or
not, and whether it reached the end) whatever order the spider yields in. No Scrapy, no SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawler.urls import canonical_url

MAX_LISTING_PAGES = 5000


@dataclass
class Step:
    """What to do after one listing page: the requests to make, errors to report, the walk's end."""

    requests: list[dict] = field(default_factory=list)  # {"url", "method", "body", "headers"}
    errors: list[str] = field(default_factory=list)  # error kinds (listing_trap, listing_page_cap)
    ended: Ending | None = None


@dataclass
class Ending:
    section: str
    stop: str
    complete: bool
    reached_end: bool
    listed: set[str]
    stated_items: int | None = None  # the record count the section's listing states (共N条, totalrecord)
    stated_pages: int | None = None  # the page count it states (共N页, totalpage)
    pages: int = 0  # listing pages (data answers) walked


@dataclass
class SectionWalk:
    name: str
    pages: list[str] = field(default_factory=list)
    items: set[str] = field(default_factory=set)  # every article URL this walk listed
    stop: str | None = None
    outstanding: int = 0  # listing requests in flight
    failed: bool = False  # a listing request failed
    capped: bool = False  # a cap cut the walk while unknown items may be left
    cut: bool = False  # stopped before the last page (all archived, or a cap)
    ended: bool = False
    barren: int = 0
    lists: set[tuple] = field(default_factory=set)
    requested: set[tuple] = field(default_factory=set)
    data_paths: set[str] = field(default_factory=set)
    trapped: bool = False  # the last page listed only articles this walk had already seen
    stated_items: int | None = None
    stated_pages: int | None = None


class WalkController:
    """Every section's walk. `max_pages` is the one page cap; `pages` the operator's --pages."""

    def __init__(self, max_pages: int = MAX_LISTING_PAGES, pages: int | None = None, full: bool = False) -> None:
        self.max_pages, self.pages, self.full = max_pages, pages, full
        self.walks: dict[str, SectionWalk] = {}

    @staticmethod
    def _key(req: dict) -> tuple:
        return (req.get("method") or "GET").upper(), canonical_url(req["url"]), req.get("body") or ""

    def start(self, section: str, url: str) -> dict:
        """The first listing request of a section's walk."""
        walk = self.walks[section] = SectionWalk(section)
        req = {"url": url, "method": "GET", "body": None, "headers": {}}
        walk.requested.add(self._key(req))
        walk.outstanding += 1
        return req

    def listing(self, section: str, url: str, page: int, result: dict, *, all_known: bool = False,
                may_stop_early: bool = False) -> Step:
        """Record one listing page (or data answer) and decide what follows.

        `all_known`: every item on it is known to the archive (archived or listed before); `may_stop_early`: the section's previous walk
        completed, so an all-archived page ends an incremental walk.
        """
        walk = self.walks[section]
        stopped = walk.stop
        step = Step(requests=self._next(walk, url, page, result, all_known, may_stop_early))
        if walk.trapped:
            step.errors.append("listing_trap")
        if walk.stop != stopped and walk.stop.startswith("page cap"):
            step.errors.append("listing_page_cap")
        walk.outstanding += len(step.requests)
        step.ended = self._done(walk)
        return step

    def failed(self, section: str) -> Ending | None:
        """A listing request of the section failed (error answer, network, refused)."""
        walk = self.walks[section]
        walk.failed = True
        walk.stop = walk.stop or "a listing page failed"
        return self._done(walk)

    def _next(self, walk: SectionWalk, url: str, page: int, result: dict, all_known: bool,
              may_stop_early: bool) -> list[dict]:
        walk.pages.append(url)
        for key in ("stated_items", "stated_pages"):  # the first a walk is told: page 1's, mostly
            if getattr(walk, key) is None and isinstance(result.get(key), int):
                setattr(walk, key, result[key])
        if result.get("items_cut"):  # the spider kept only the first items of a huge page: not all seen
            walk.capped = True
        urls = [i["url"] for i in result.get("items") or []]
        new = [u for u in urls if u not in walk.items]
        walk.items.update(urls)
        listed = (urlsplit(url).path, tuple(urls))
        # The first answer of a data API may repeat the records its column page embedded: not a loop.
        first_data = str(result.get("mechanism") or "").startswith("hanweb-dataproxy") and \
            urlsplit(url).path not in walk.data_paths
        if first_data:
            walk.data_paths.add(urlsplit(url).path)
        walk.trapped = bool(urls) and not new and page > 1 and not first_data
        if urls and listed in walk.lists:
            return self._stop(walk, "page repeats an earlier page")
        walk.lists.add(listed)
        if walk.trapped:
            return self._stop(walk, "listing trap")
        walk.barren = 0 if new else walk.barren + 1
        if walk.barren >= 2:
            return self._stop(walk, "no new articles on two pages in a row")
        if not urls and page > 1:
            return self._stop(walk, "last page")
        wanted = []
        if result.get("next_page"):
            wanted.append({"url": result["next_page"], "method": "GET", "body": None, "headers": {}})
        wanted.extend(result.get("requests") or [])
        fresh: dict[tuple, dict] = {}
        for r in wanted:
            if self._key(r) not in walk.requested:
                fresh.setdefault(self._key(r), r)
        wanted = list(fresh.values())
        if not wanted:
            return self._stop(walk, "last page")
        if all_known and may_stop_early and not self.full:
            walk.cut = True
            return self._stop(walk, "all known")
        if self.pages and page >= self.pages:
            walk.cut = True
            walk.capped = walk.capped or not all_known
            return self._stop(walk, f"--pages {self.pages}")
        if page >= self.max_pages:
            walk.cut = walk.capped = True
            return self._stop(walk, f"page cap {self.max_pages}")
        for r in wanted:
            walk.requested.add(self._key(r))
        return wanted

    @staticmethod
    def _stop(walk: SectionWalk, reason: str) -> list[dict]:
        walk.stop = walk.stop or reason
        return []

    def _done(self, walk: SectionWalk) -> Ending | None:
        walk.outstanding -= 1
        if walk.outstanding > 0 or walk.ended:
            return None
        walk.ended = True
        return Ending(walk.name, walk.stop or "last page", complete=not walk.failed and not walk.capped,
                      reached_end=not walk.cut, listed=set(walk.items), stated_items=walk.stated_items,
                      stated_pages=walk.stated_pages, pages=len(walk.pages))
