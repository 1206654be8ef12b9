"""Page resources: which URLs a page needs to be replayed faithfully (#18).

Pure functions of (url, bytes) -> resource URLs; fetching lives elsewhere.
Covers <img src/data-src/data-original/lazy attributes/srcset>, <link rel=stylesheet|icon>,
<script src>, inline style="...url()" and <style> blocks, and url()/@import in CSS files.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import lxml.html

IMG_ATTRS = ("src", "data-src", "data-original", "data-lazy-src", "data-lazy", "lazy-src")
SRCSET_ATTRS = ("srcset", "data-srcset")
LINK_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon"}
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.I | re.S)


def _absolute(base: str, ref: str | None) -> str | None:
    ref = (ref or "").strip()
    if not ref or ref.startswith(("data:", "javascript:", "about:", "#", "mailto:")):
        return None
    url = urljoin(base, ref).split("#", 1)[0]
    return url if urlsplit(url).scheme in ("http", "https") else None


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


def page_resource_urls(url: str, body: bytes | str) -> list[str]:
    """Resource URLs an HTML page needs (images, stylesheets, scripts, CSS url()), deduplicated."""
    if not (body.strip() if body else body):
        return []
    try:
        doc = lxml.html.fromstring(body)
    except (ValueError, lxml.etree.ParserError):
        return []
    base = url
    for href in doc.xpath("//base/@href")[:1]:
        base = urljoin(url, href.strip())
    found: list[str] = []

    def add(ref: str | None, against: str = base) -> None:
        absolute = _absolute(against, ref)
        if absolute and absolute not in found:
            found.append(absolute)

    for el in doc.iter("img", "source", "input", "video", "audio", "embed"):
        for attr in IMG_ATTRS:
            add(el.get(attr))
        for attr in SRCSET_ATTRS:
            for ref in _srcset(el.get(attr) or ""):
                add(ref)
        add(el.get("poster"))
    for el in doc.iter("link"):
        rels = set((el.get("rel") or "").lower().split())
        if rels & LINK_RELS:
            add(el.get("href"))
    for el in doc.iter("script"):
        add(el.get("src"))
    for el in doc.iter("style"):
        for ref in css_resource_urls(base, el.text_content() or ""):
            add(ref)
    for el in doc.xpath("//*[@style or @background]"):
        add(el.get("background"))
        for ref in css_resource_urls(base, el.get("style") or ""):
            add(ref)
    return found
