"""`govnews discover`: a site's news and 政务公开 sections, found from its home page or any column page.

1. Read pages: the start page, the site's home page (the 首页 link, or /), then every hub and section page
   found, two levels deep. On each, links.harvest() names the links that may lead to a section (menus,
   breadcrumbs, 目录 trees, 更多 boxes, CMS column URLs); names.kind() keeps news/政务公开 names and
   hubs, and drops services, letters, site furniture.
2. Probe every candidate with the walker's own listing extraction (crawler.listing.extract_listing): the
   mechanism, the items on page 1, the stated total (stated_items/stated_pages, crawler.listing.totals;
   read from page 2 or the first data answer when page 1 states none), whether it needs a browser (crawler.listing.shell).
3. Decide: a list with a pager or a CMS mechanism is a section (even an empty one); a script shell is a
   section that needs a browser; a page of items without a pager is a section unless its items are those
   of two other candidates (a hub's boxes) or of a bigger one; anything else is not.

The result becomes a site TOML (crawler.discover.output) with one evidence line per section.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from crawler.encoding import decode_html
from crawler.listing import extract_listing
from crawler.urls import canonical_url

from . import names
from .fetch import BudgetSpent, Fetcher, Page
from .links import ARTICLE_FORM, Link, harvest

__all__ = ["Discovery", "Found", "discover"]

HOME_WORDS = ("首页", "网站首页", "主页", "返回首页")
MAX_DEPTH = 2  # pages whose links are read: the start and home pages (0), hubs and sections (1, 2)


@dataclass
class Found:
    """A candidate and what its probe saw."""

    name: str
    url: str
    how: str
    on: str
    kind: str  # "section" or "hub" (by its name)
    status: int | None = None
    error: str | None = None
    mechanism: str = "none"
    items: list[dict] = field(default_factory=list)
    stated: dict | None = None  # {"items": N|None, "pages": M|None} as the section's pages state them
    shell: str | None = None
    next_page: str | None = None
    verdict: str = ""  # "section", or why not
    also: list[str] = field(default_factory=list)  # other names it is linked by

    @property
    def is_section(self) -> bool:
        return self.verdict == "section"


@dataclass
class Discovery:
    start: str
    title: str
    found: list[Found]
    pages: int  # requests made
    note: str | None = None  # e.g. the page budget ran out
    elsewhere: list[Link] = field(default_factory=list)  # news-like links to other hosts (not followed)

    @property
    def sections(self) -> list[Found]:
        return [f for f in self.found if f.is_section]


def _stated(result: dict) -> dict | None:
    items, pages = result.get("stated_items"), result.get("stated_pages")
    return None if items is None and pages is None else {"items": items, "pages": pages}


def _same_site(a: str, b: str) -> bool:
    return urlsplit(a).netloc.lower() == urlsplit(b).netloc.lower()


def _title(page: Page, best: bool = True) -> str:
    """The site's name from a page's <title> (best: the segment naming a 政府, else the longest), or the
    title's first segment (a column page's own name)."""
    text, _ = decode_html(page.body, page.headers)
    m = re.search(r"<title[^>]*>(.*?)</title>", text, re.S | re.I)
    title = html.unescape(re.sub(r"\s+", " ", m.group(1))).strip() if m else ""
    parts = [p.strip() for p in re.split(r"[-_|—·]+", title) if p.strip()]
    if not parts:
        return ""
    return max(parts, key=lambda p: ("政府" in p, len(p))) if best else parts[0]


class _Run:
    def __init__(self, fetcher: Fetcher, start: str) -> None:
        self.fetcher, self.start = fetcher, start
        self.found: dict[str, Found] = {}
        self.read: set[str] = set()
        self.queue: list[tuple[str, int]] = []
        self.elsewhere: dict[str, Link] = {}  # news-like links to other hosts: named, not followed

    def page(self, url: str) -> Page:
        return self.fetcher.get(url)

    def read_page(self, url: str, depth: int) -> None:
        key = canonical_url(url)
        if key in self.read:
            return
        self.read.add(key)
        page = self.page(url)
        if page.status != 200 or not page.body:
            return
        text, _ = decode_html(page.body, page.headers)
        for link in harvest(url, text):
            self.consider(link, depth)

    def consider(self, link: Link, depth: int) -> None:
        if not _same_site(link.url, self.start):
            if names.kind(link.text) and urlsplit(link.url).scheme in ("http", "https"):
                self.elsewhere.setdefault(canonical_url(link.url), link)
            return
        if link.text in HOME_WORDS and depth < MAX_DEPTH:
            self.queue.append((link.url, depth))  # the home page: read like the start page
            return
        kind = names.kind(link.text)
        if kind is None:
            return
        key = canonical_url(link.url)
        if key in self.found:
            f = self.found[key]
            if f.kind == "hub" and kind == "section":  # 新闻中心 -> its first column: the column's own name wins
                f.also.append(f.name)
                f.name, f.how, f.on, f.kind = link.text, link.how, link.on, kind
            elif link.text != f.name and link.text not in f.also:
                f.also.append(link.text)
            return
        self.found[key] = Found(link.text, link.url, link.how, link.on, kind)
        if depth + 1 <= MAX_DEPTH:
            self.queue.append((link.url, depth + 1))

    def probe(self, f: Found) -> None:
        page = self.page(f.url)
        f.status, f.error = page.status, page.error
        if page.status is None or not page.body:
            return
        got = extract_listing(f.url, page.body, page.headers, {"status": page.status})
        f.mechanism, f.items, f.stated, f.shell = got["mechanism"], got["items"], _stated(got), got["shell"]
        f.next_page = got["next_page"]
        if f.stated is None and page.status == 200 and (f.next_page or got["requests"]):
            nxt = f.next_page or next((r["url"] for r in got["requests"] if r.get("method", "GET") == "GET"), None)
            if nxt:
                url = urljoin(f.url, nxt)
                more = self.page(url)
                if more.status == 200 and more.body:
                    f.stated = _stated(extract_listing(url, more.body, more.headers, {"status": more.status}))

    def run(self, seeds: list[str]) -> None:
        for s in seeds:
            self.queue.append((s, 0))
        while self.queue:
            url, depth = self.queue.pop(0)
            self.read_page(url, depth)
        key = canonical_url(self.start)
        if key not in self.found and not ARTICLE_FORM.search(urlsplit(self.start).path):
            # A column page nothing links: itself a candidate, named by its <title> (an article is none).
            page = self.page(self.start)
            name = (_title(page, best=False) if page.body else "") or urlsplit(self.start).path.strip("/") or "/"
            self.found[key] = Found(name, self.start, "start page", self.start, "section")
        for f in self.found.values():
            self.probe(f)


def _judge(found: list[Found]) -> None:
    """Set each candidate's verdict (module docstring, step 3)."""
    item_sets = {id(f): {i["url"] for i in f.items} for f in found}
    seen_lists: dict[frozenset, str] = {}
    for f in found:
        mine = item_sets[id(f)]
        if f.status is None:
            f.verdict = f"no answer ({f.error})"
        elif f.status != 200 and not f.shell:
            f.verdict = f"HTTP {f.status}"
        elif f.shell and not f.items:
            f.verdict = "section"
        elif not f.items:
            f.verdict = "section" if f.mechanism != "none" else "no list on the page"
        elif f.mechanism == "none" and not f.stated:
            others = [g for g in found if g is not f and mine & item_sets[id(g)]]
            # Other pages of boxes (the home page, another hub) say less than the lists themselves.
            others = [g for g in others if g.mechanism != "none" or len(item_sets[id(g)]) < len(mine)] or others
            bigger = [g for g in others if len(item_sets[id(g)]) > len(mine) and len(mine & item_sets[id(g)]) >= 0.8 * len(mine)]
            if len(others) >= 2 or bigger:
                names_ = ", ".join(g.name for g in (bigger or others)[:3])
                f.verdict = f"gathers the lists of {names_}"
            else:
                f.verdict = "section"
        else:
            f.verdict = "section"
        if f.verdict == "section" and mine:
            key = frozenset(mine)
            if key in seen_lists:
                f.verdict = f"the same list as {seen_lists[key]}"
            else:
                seen_lists[key] = f.name


def _unique_names(sections: list[Found]) -> None:
    counts: dict[str, int] = {}
    for f in sections:
        counts[f.name] = counts.get(f.name, 0) + 1
    for f in sections:
        if counts[f.name] > 1:
            parent = urlsplit(f.on).path.strip("/").split("/")[0] or "home"
            f.name = f"{f.name}（{parent}）"


def discover(start: str, fetcher: Fetcher | None = None, seeds: tuple[str, ...] = ()) -> Discovery:
    """Find the sections of the site at `start` (a home or column page); `seeds` are more pages to read
    (an existing definition's section URLs, for --check)."""
    fetcher = fetcher or Fetcher()
    run = _Run(fetcher, start)
    root = urljoin(start, "/")
    note = None
    try:
        run.run([start, *seeds] + ([root] if root != start else []))
    except BudgetSpent as e:
        note = f"stopped early: {e}"
        for f in run.found.values():
            if f.status is None and f.error is None:
                f.error = "not probed (page budget)"
    found = list(run.found.values())
    _judge(found)
    _unique_names([f for f in found if f.is_section])
    start_page = fetcher.get(start) if start in fetcher._cache else None
    home = fetcher._cache.get(root) or start_page
    title = _title(home) if home and home.body else ""
    return Discovery(start, title, found, len(fetcher.fetched), note, list(run.elsewhere.values()))
