"""Where a page points at its site's sections: navigation menus (blocks of short links that are most of
their block's text), breadcrumbs (当前位置 …), 目录 trees (lists nested in list items), the heading of a
box whose 更多 link leads to the full list, and URLs in the column form of a CMS family anywhere.

Nothing here knows a site: the signals are the shape of the markup and the URL forms the platforms
share. `harvest(url, text)` returns Links in page order; `column_family(url)` names a column URL's form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml import etree

from crawler.listing.rows import SKIP_TAGS, _base_url, _tokens, _usable_href, norm_space, parse_html

# URL forms of a column (a list of articles) per CMS family; checked on path + query.
COLUMN_FORMS: tuple[tuple[str, re.Pattern], ...] = (
    ("Hanweb column id", re.compile(r"/col/col\d+/(?:index\.s?html?)?(?:\?|$)")),
    ("TRS channel code", re.compile(r"/c\d{4,}/(?:[a-z_]+\.s?html?)?(?:\?|$)")),
    ("UCAP column list", re.compile(r"/[\w-]+/(?:list|index)(?:_\d+)?\.shtml(?:\?|$)")),
    ("UCAP 目录 list", re.compile(r"\.shtml\?(?:.*&)?code=[\w-]+", re.I)),
    ("column code", re.compile(r"/(?:ns_class|class|column|channel|lanmu)/[\w-]+/?(?:\?|$)", re.I)),
    ("column parameter", re.compile(r"\?(?:.*&)?(?:catId|columnId|channelId|classId|colId|catalogId|cid)=\w+", re.I)),
    ("channel folder", re.compile(r"^/(?:[a-z][a-z0-9_]{0,15}/)+(?:index(?:_\d+)?\.s?html?)?$")),
    ("list page", re.compile(r"/list(?:_\d+)?\.(?:s?html?|jsp|php|aspx?)(?:\?|$)", re.I)),
)
# What an article URL looks like (never a section): TRS t<date>_<id>, Hanweb art_<col>_<id>, content_<id>,
# 32-hex ids, Document/<id>/, a date folder with a numbered file.
ARTICLE_FORM = re.compile(r"/t\d{8}_\d+\.|/art_\d+_\d+\.|content_\d+\.|/[0-9a-f]{32}\.s?html?|/Document/\d+/|"
                          r"/(?:19|20)\d{2}[-/]?\d{2}(?:[-/]?\d{2})?/[^/]*\d{3,}[^/]*\.s?html?$", re.I)
CRUMB_TOKENS = {"crumb", "crumbs", "breadcrumb", "bread", "position", "location", "weizhi", "dqwz", "wz", "path", "lujing"}
CRUMB_WORDS = re.compile(r"^\s*(?:当前位置|您的位置|您现在的位置|所在位置|当前栏目|位置)\s*[:：]?")
TREE_TOKENS = {"tree", "ml", "mulu", "catalog", "catalogue", "xxgkml", "gkml", "ztree"}
MORE_WORDS = re.compile(r"^(?:更多|more|查看更多|更多\s*[>»]+|[>»]+|\+)$", re.I)
MENU_MIN_LINKS, MENU_MAX_TEXT = 3, 12


@dataclass(frozen=True)
class Link:
    url: str
    text: str
    how: str  # "menu", "目录", "breadcrumb", "box", or a COLUMN_FORMS name
    on: str  # the page it was found on


def column_family(url: str) -> str | None:
    """The CMS column form this URL has, or None."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if ARTICLE_FORM.search(parts.path):
        return None
    for name, pattern in COLUMN_FORMS:
        if pattern.search(target):
            return name
    return None


def _anchor_text(a: etree._Element) -> str:
    text = norm_space(a.text_content()) or norm_space(a.get("title") or "")
    if not text:  # an image link: its alt text
        text = next((norm_space(img.get("alt") or "") for img in a.iter("img") if (img.get("alt") or "").strip()), "")
    return text.strip("·•-—>»› ")


def _links_of(el: etree._Element) -> list[etree._Element]:
    return [a for a in el.iter("a") if _usable_href(a.get("href"))]


def _in_tree(a: etree._Element) -> bool:
    """A 目录 tree: the link's list sits inside an item of another list, or a block says it is a tree."""
    lists = 0
    for node in a.iterancestors():
        if not isinstance(node.tag, str) or node.tag in ("body", "html"):
            return False
        if _tokens(node) & TREE_TOKENS:
            return True
        if node.tag in ("ul", "ol"):
            lists += 1
            if lists == 2:
                return True
    return False


def _menu_block(a: etree._Element) -> str | None:
    """'menu' or '目录' when the link sits in a block of short links that are most of the block's text."""
    if len(_anchor_text(a)) <= MENU_MAX_TEXT and _in_tree(a):
        return "目录"
    node = a.getparent()
    for _ in range(6):
        if node is None or not isinstance(node.tag, str) or node.tag in ("body", "html"):
            return None
        if node.tag in ("ul", "ol", "nav", "div", "dl", "table", "td", "p", "section"):
            links = _links_of(node)
            if len(links) >= MENU_MIN_LINKS:
                texts = [_anchor_text(x) for x in links]
                short = sum(1 for t in texts if 0 < len(t) <= MENU_MAX_TEXT)
                linked = sum(len(t) for t in texts)
                total = len(norm_space(node.text_content()))
                if short >= 0.8 * len(links) and total and linked >= 0.6 * total:
                    return "menu"
                return None  # the nearest block with links is not a menu: stop
        node = node.getparent()
    return None


def _crumb(a: etree._Element) -> bool:
    for node in a.iterancestors():
        if not isinstance(node.tag, str) or node.tag in ("body", "html"):
            return False
        if _tokens(node) & CRUMB_TOKENS or CRUMB_WORDS.match(norm_space(node.text_content())[:12]):
            return len(norm_space(node.text_content())) < 200
    return False


def _box_heading(a: etree._Element) -> str | None:
    """The heading of the box a 更多 link belongs to."""
    node = a.getparent()
    for _ in range(4):
        if node is None:
            return None
        for h in node.iter("h1", "h2", "h3", "h4", "h5", "span", "strong", "b", "em"):
            if h is not a and a not in h.iterancestors():
                text = norm_space(h.text_content())
                if 2 <= len(text) <= MENU_MAX_TEXT and not MORE_WORDS.match(text):
                    return text
        node = node.getparent()
    return None


def _skipped(a: etree._Element) -> bool:
    return any(isinstance(p.tag, str) and p.tag in SKIP_TAGS for p in a.iterancestors())


def harvest(url: str, text: str) -> list[Link]:
    """Every link on the page that may lead to a section, with how it was found, in page order."""
    root = parse_html(text)
    if root is None:
        return []
    base = _base_url(root, url)
    out: list[Link] = []
    for a in root.iter("a"):
        href = a.get("href")
        if not _usable_href(href) or _skipped(a):
            continue
        target = urljoin(base, href.strip()).split("#", 1)[0]
        label = _anchor_text(a)
        how = None
        if MORE_WORDS.match(label):
            label, how = _box_heading(a) or "", "box"
        elif _crumb(a):
            how = "breadcrumb"
        else:
            how = _menu_block(a)
        if how is None and label and len(label) <= MENU_MAX_TEXT:
            how = column_family(target)
        if how and label and not ARTICLE_FORM.search(urlsplit(target).path):
            out.append(Link(target, label, how, url))
    return out
