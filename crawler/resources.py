"""Page resources: which URLs an archived page needs to be replayed faithfully (#18), and which of
them this crawl fetches.

Pure functions of (url, bytes) -> resource URLs: <img src/data-src/data-original/lazy attributes/srcset>,
<link rel=stylesheet|icon>, <script src>, inline style="...url()" and <style> blocks, url()/@import in
CSS files. `ResourcePolicy` (settings-driven, one per spider) picks what to fetch: the article's in-body
images always, the rest of the page (stylesheets, scripts, the template's images and what the
stylesheets reference) unless GOVNEWS_PAGE_RESOURCES is off; only on the site's own hosts or the CDN
hosts the site definition lists (`resource_hosts`) or GOVNEWS_RESOURCE_HOSTS adds; at most
GOVNEWS_MAX_RESOURCES a page. The spider sends them as ordinary Scrapy requests (politeness, robots.txt,
the capture middleware and the one archive writer apply as to every request).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html

from crawler.urls import url_allowed

IMG_ATTRS = ("src", "data-src", "data-original", "data-lazy-src", "data-lazy", "lazy-src")
SRCSET_ATTRS = ("srcset", "data-srcset")
LINK_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon"}
IMAGE_TAGS = ("img", "source", "input", "video", "audio", "embed")
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.I | re.S)


def _absolute(base: str, ref: str | None) -> str | None:
    ref = (ref or "").strip()
    if not ref or ref.startswith(("data:", "javascript:", "about:", "#", "mailto:")):
        return None
    try:
        url = urljoin(base, ref).split("#", 1)[0]
        scheme = urlsplit(url).scheme
    except ValueError:  # a malformed reference (an unbalanced IPv6 bracket, …)
        return None
    return url if scheme in ("http", "https") else None


def _srcset(value: str) -> list[str]:
    return [part.strip().split()[0] for part in value.split(",") if part.strip()]


def css_resource_urls(base_url: str, css: str) -> list[str]:
    """url(...) and @import targets in a stylesheet, absolute against base_url, in order."""
    out: list[str] = []
    for m in _CSS_URL.finditer(css):
        url = _absolute(base_url, m.group(2) if m.group(2) is not None else m.group(4))
        if url and url not in out:
            out.append(url)
    return out


def _element_urls(el, base: str) -> list[str]:
    """Every URL one image-like element may show: src, its lazy-loading variants, srcset, poster."""
    refs = [el.get(a) for a in IMG_ATTRS] + [r for a in SRCSET_ATTRS for r in _srcset(el.get(a) or "")]
    refs.append(el.get("poster"))
    out: list[str] = []
    for ref in refs:
        url = _absolute(base, ref)
        if url and url not in out:
            out.append(url)
    return out


def _parse(body: bytes | str):
    if not (body.strip() if body else body):
        return None
    try:
        return lxml.html.fromstring(body)
    except (ValueError, lxml.etree.ParserError):
        return None


def split_resources(url: str, body: bytes | str, body_images: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """(in-body images, the page's other resources) of an HTML page, each absolute and deduplicated.

    An image element is in the body when any URL it may show is one of `body_images` (the extractor's
    images of the article's content); all its variants (lazy src, srcset) are then in-body images."""
    doc = _parse(body)
    if doc is None:
        return [], []
    base = url
    for href in doc.xpath("//base/@href")[:1]:
        base = _absolute(url, href) or url
    wanted = set(body_images)
    images: list[str] = []
    page: list[str] = []

    def add(found: list[str], ref: str | None) -> None:
        absolute = _absolute(base, ref)
        if absolute and absolute not in images and absolute not in page:
            found.append(absolute)

    for el in doc.iter(*IMAGE_TAGS):
        urls = _element_urls(el, base)
        target = images if wanted.intersection(urls) else page
        for u in urls:
            add(target, u)
    for el in doc.iter("link"):
        if set((el.get("rel") or "").lower().split()) & LINK_RELS:
            add(page, el.get("href"))
    for el in doc.iter("script"):
        add(page, el.get("src"))
    for el in doc.iter("style"):
        for ref in css_resource_urls(base, el.text_content() or ""):
            add(page, ref)
    for el in doc.xpath("//*[@style or @background]"):
        add(page, el.get("background"))
        for ref in css_resource_urls(base, el.get("style") or ""):
            add(page, ref)
    return images, page


def page_resource_urls(url: str, body: bytes | str) -> list[str]:
    """Every resource URL an HTML page needs (images, stylesheets, scripts, CSS url()), deduplicated."""
    images, page = split_resources(url, body)
    return images + page


def is_stylesheet(url: str, content_type: str | None) -> bool:
    mime = (content_type or "").split(";")[0].strip().lower()
    return mime == "text/css" or (not mime and urlsplit(url).path.lower().endswith(".css"))


@dataclass(frozen=True)
class Resource:
    url: str
    kind: str  # "image" (in the article's body) or "resource" (the page's stylesheets, scripts, template images)
    offsite: bool = False  # on a CDN host the site lists, not the site's own


class ResourcePolicy:
    """What this crawl fetches of a page's resources (settings: GOVNEWS_PAGE_RESOURCES, …)."""

    def __init__(self, site_hosts: Iterable[str], cdn_hosts: Iterable[str] = (), page: bool = True,
                 max_per_page: int = 100, max_size: int = 10 * 1024 * 1024, timeout: float = 30,
                 css_depth: int = 3) -> None:
        self.site_hosts, self.cdn_hosts = tuple(site_hosts), tuple(h for h in cdn_hosts if h)
        self.page, self.max_per_page, self.max_size = page, max_per_page, max_size
        self.timeout, self.css_depth = timeout, css_depth

    @classmethod
    def from_settings(cls, settings, site) -> ResourcePolicy:
        return cls(site.allowed_hosts, (*getattr(site, "resource_hosts", ()), *settings.getlist("GOVNEWS_RESOURCE_HOSTS")),
                   page=settings.getbool("GOVNEWS_PAGE_RESOURCES", True),
                   max_per_page=settings.getint("GOVNEWS_MAX_RESOURCES", 100),
                   max_size=settings.getint("GOVNEWS_RESOURCE_MAXSIZE", 10 * 1024 * 1024),
                   timeout=settings.getfloat("GOVNEWS_RESOURCE_TIMEOUT", settings.getfloat("DOWNLOAD_TIMEOUT", 30)),
                   css_depth=settings.getint("GOVNEWS_RESOURCE_CSS_DEPTH", 3))

    def resource(self, url: str, kind: str) -> Resource | None:
        """A resource this crawl may fetch (kind "image" always, "resource" unless page resources are
        off; same site or a listed CDN host), or None."""
        if kind != "image" and not self.page:
            return None
        return self._resource(url, kind)

    def _resource(self, url: str, kind: str) -> Resource | None:
        if url_allowed(url, self.site_hosts):
            return Resource(url, kind)
        if self.cdn_hosts and url_allowed(url, self.cdn_hosts):
            return Resource(url, kind, offsite=True)
        return None

    def for_page(self, url: str, body: bytes | str, body_images: Iterable[str] = (),
                 skip: Iterable[str] = ()) -> list[Resource]:
        """The resources to fetch for an archived article page: in-body images first, then (unless page
        resources are off) the rest; same site or listed CDN hosts only; at most max_per_page."""
        images, page = split_resources(url, body, body_images)
        skipped = {url, *skip}
        out: list[Resource] = []
        for kind, urls in (("image", images), ("resource", page if self.page else [])):
            for u in urls:
                r = None if u in skipped else self._resource(u, kind)
                if r is not None and len(out) < self.max_per_page:
                    out.append(r)
        return out

    def for_stylesheet(self, url: str, css: str, depth: int) -> list[Resource]:
        """What a fetched stylesheet references (images, fonts, @import), while depth allows."""
        if not self.page or depth >= self.css_depth:
            return []
        found = (self._resource(u, "resource") for u in css_resource_urls(url, css))
        return [r for r in found if r is not None][:self.max_per_page]
