"""Find a section's article list in an HTML page: the repeated rows of link + date in the main content.

A row is the smallest element around a title link that also shows a date and holds no other title link.
Rows are grouped by their structural path (tags and classes of their ancestors), so the main list, a
"热点" box and a footer link farm land in different groups; the biggest group of long titles outside
navigation/sidebar/hot boxes wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from .dates import date_from_url, find_date, is_date_only, is_short_date

SKIP_TAGS = {"script", "style", "noscript", "template", "textarea", "select", "option"}
STOP_TAGS = {"body", "html"}
# Link texts that are pager or chrome, never an article.
PAGER_WORDS = re.compile(
    r"^(?:[<>«»‹›]+|首页|尾页|末页|上一?页|下一?页|前页|后页|更多|more|查看更多|更多>>|>>|<<|\d+|跳转|go|"
    r"上一篇|下一篇|返回|返回顶部|打印|关闭|分享|登录|注册|English)$", re.I)
# Class/id tokens of page chrome and side boxes.
CHROME_TOKENS = {
    "nav", "navs", "navbar", "menu", "menus", "submenu", "header", "head", "footer", "foot", "banner",
    "crumb", "breadcrumb", "position", "location", "weizhi", "dqwz", "sidebar", "aside", "hot", "hots",
    "rdph", "rank", "ranking", "tuijian", "recommend", "friend", "friends", "yqlj", "link", "links",
    "share", "copyright", "bottom", "toolbar", "qrcode", "search", "djph", "phb", "rmwz", "rmtj", "xgwz",
    "related", "relate", "xglj", "xgxx", "subnav", "leftnav", "lnav", "tnav", "sitemap", "wzdt", "gotop",
}
CHROME_TAGS = {"nav", "header", "footer", "aside"}
LIST_TOKENS = {"list", "lists", "lb", "news", "newslist", "main", "content", "con", "article", "articles",
               "xxgk", "items", "result", "results", "data"}
# Headings of boxes that are not the section's list.
SIDE_BOX_WORDS = re.compile(r"热点|热门|推荐|排行|点击榜|相关(?:文章|新闻|链接|阅读)|友情链接|专题专栏|猜你喜欢|精彩图片")
TOKEN_SPLIT = re.compile(r"[^a-z]+")


@dataclass
class Row:
    element: etree._Element
    anchor: etree._Element
    url: str
    title: str
    date: str | None
    signature: tuple = field(default=())


def norm_space(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "").replace("\u3000", " ").replace("\xa0", " ")).strip()


def _tokens(el: etree._Element) -> set[str]:
    raw = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    return {t for t in TOKEN_SPLIT.split(raw) if t}


def _visible_texts(el: etree._Element, anchor: etree._Element | None) -> Iterator[tuple[str, bool]]:
    """Text nodes under el (not its tail), each with whether it sits inside `anchor`; scripts skipped."""

    def walk(node: etree._Element, inside: bool) -> Iterator[tuple[str, bool]]:
        if not isinstance(node.tag, str) or node.tag in SKIP_TAGS:
            return
        inside = inside or node is anchor
        if node.text:
            yield node.text, inside
        for child in node:
            yield from walk(child, inside)
            if child.tail:
                yield child.tail, inside

    yield from walk(el, False)


def anchor_title(a: etree._Element) -> str:
    """The link text without date-only parts; the title attribute completes a truncated text."""
    parts = [t for t, _ in _visible_texts(a, None) if t.strip() and not is_date_only(t)]
    text = norm_space("".join(parts))
    full = norm_space(a.get("title") or "")
    if not text:
        return full
    if full and len(full) > len(text) and re.search(r"(\.\.\.|…+|\.\.)$", text):
        stem = re.sub(r"(\.\.\.|…+|\.\.)$", "", text).strip()
        if full.startswith(stem[: max(2, len(stem) - 2)]):
            return full
    return text


def _usable_href(href: str | None) -> bool:
    if not href:
        return False
    h = href.strip().lower()
    return bool(h) and not h.startswith(("javascript:", "#", "mailto:", "tel:", "data:", "about:"))


def _is_title_anchor(a: etree._Element, title: str) -> bool:
    if not _usable_href(a.get("href")):
        return False
    compact = re.sub(r"\s", "", title)
    if len(compact) < 4 or PAGER_WORDS.match(compact):
        return False
    # "[部门动态]" style category labels beside the real title.
    return not re.fullmatch(r"[\[【(（].{1,10}[\]】)）]", compact)


def _row_date(row: etree._Element, anchor: etree._Element) -> str | None:
    """The row's date; "" when the row shows a date without its year (the URL may still date it)."""
    texts = list(_visible_texts(row, anchor))
    for text, _inside in texts:
        if is_date_only(text):
            return find_date(text)
    outside = " ".join(t for t, inside in texts if not inside)
    found = find_date(outside)
    if found:
        return found
    if any(is_short_date(t) for t, _ in texts):
        return ""
    return None


def _signature(el: etree._Element) -> tuple:
    sig = [el.tag]
    node = el.getparent()
    while node is not None and isinstance(node.tag, str):
        sig.append((node.tag, (node.get("class") or "").strip(), (node.get("id") or "").strip()))
        node = node.getparent()
    return tuple(sig)


def _base_url(root: etree._Element, url: str) -> str:
    for base in root.iter("base"):
        href = base.get("href")
        if href and href.strip():
            return urljoin(url, href.strip())
    return url


# Title links looked at per page: far past any real listing page (20-50 rows; a few thousand on an
# "all articles" page), and it bounds the time and memory a page of 100,000 links costs (the crawl
# keeps GOVNEWS_MAX_LISTING_ITEMS of them and counts the cut).
MAX_TITLE_ANCHORS = 20000


def _title_anchors(root: etree._Element) -> list[tuple[etree._Element, str]]:
    out = []
    for a in root.iter("a"):
        if len(out) >= MAX_TITLE_ANCHORS:
            break
        if any(p.tag in SKIP_TAGS for p in a.iterancestors() if isinstance(p.tag, str)):
            continue
        title = anchor_title(a)
        if _is_title_anchor(a, title):
            out.append((a, title))
    return out


def _find_rows(root: etree._Element, base: str, dated: bool) -> list[Row]:
    anchors = _title_anchors(root)
    href_of = {a: urljoin(base, a.get("href").strip()) for a, _ in anchors}
    # Distinct title-link URLs under each element, counted once per element.
    # Short links (category labels like "部门动态" before a title) do not end a row.
    counts: dict[etree._Element, set[str]] = {}
    for a, title in anchors:
        if len(title) < 8:
            continue
        for node in [a, *a.iterancestors()]:
            counts.setdefault(node, set()).add(href_of[a])
    rows = []
    for a, title in anchors:
        url = href_of[a]
        node, found, last_alone = a, None, a
        for _ in range(7):
            if node is None or not isinstance(node.tag, str) or node.tag in STOP_TAGS:
                break
            others = counts.get(node)  # another title link under this node: not this link's row
            if others and (len(others) > 1 or url not in others):
                break
            last_alone = node
            if dated:
                date = _row_date(node, a)
                if date is not None:
                    found = Row(node, a, url, title, date or None)
                    break
            node = node.getparent()
        if not dated and last_alone is not None:
            found = Row(last_alone, a, url, title, date_from_url(url))
        if found is not None:
            found.signature = _signature(found.element)
            rows.append(found)
    # An element that is the "row" of several different links is a box, not a row.
    owners: dict[etree._Element, set[str]] = {}
    for r in rows:
        owners.setdefault(r.element, set()).add(r.url)
    return [r for r in rows if len(owners[r.element]) == 1]


def _lca(elements: list[etree._Element]) -> etree._Element | None:
    if not elements:
        return None
    paths = []
    for el in elements:
        paths.append(list(reversed([el, *el.iterancestors()])))
    common = None
    for level in zip(*paths, strict=False):
        if all(x is level[0] for x in level):
            common = level[0]
        else:
            break
    return common


def _box_heading(lca: etree._Element) -> str:
    """Text just before the list's container: the box title of side boxes like 热点/推荐."""
    texts = []
    node = lca
    for _ in range(3):
        if node is None:
            break
        prev = node.getprevious()
        hops = 0
        while prev is not None and hops < 2:
            if isinstance(prev.tag, str) and prev.tag not in SKIP_TAGS:
                texts.append(norm_space(prev.text_content())[:40])
            prev = prev.getprevious()
            hops += 1
        node = node.getparent()
    return " ".join(texts)


def _score(rows: list[Row], lca: etree._Element | None) -> float:
    urls = {r.url for r in rows}
    avg = sum(len(r.title) for r in rows) / max(1, len(rows))
    score = len(urls) * min(1.0, avg / 12)
    chain = [rows[0].element, *rows[0].element.iterancestors()] if rows else []
    chrome = any(
        (isinstance(n.tag, str) and n.tag in CHROME_TAGS) or (_tokens(n) & CHROME_TOKENS) for n in chain
    )
    if chrome:
        score *= 0.15
    if any(_tokens(n) & LIST_TOKENS for n in chain):
        score *= 1.3
    if lca is not None and SIDE_BOX_WORDS.search(_box_heading(lca)):
        score *= 0.3
    return score


def _best_group(rows: list[Row]) -> tuple[list[Row], float]:
    groups: dict[tuple, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.signature, []).append(r)
    best, best_score = [], 0.0
    for members in groups.values():
        lca = _lca([m.element for m in members]) if len(members) > 1 else members[0].element.getparent()
        s = _score(members, lca)
        if s > best_score:
            best, best_score = members, s
    return best, best_score


def _article_like(url: str) -> bool:
    path = url.split("?", 1)[0]
    return bool(re.search(r"\d{5,}|(?:19|20)\d{2}[/-]?\d{1,2}[/-]?\d{1,2}", path)) and not path.endswith("/")


def _dedupe(rows: list[Row]) -> list[dict]:
    seen, items = set(), []
    for r in rows:
        if r.url in seen:
            continue
        seen.add(r.url)
        items.append({"url": r.url, "title": r.title, "date": r.date or date_from_url(r.url)})
    return items


def _comment_roots(root: etree._Element) -> list[etree._Element]:
    """Markup that a CMS left inside HTML comments, parsed, for lists that only exist there."""
    out = []
    for c in root.iter(etree.Comment):
        text = c.text or ""
        if "<a" in text.lower() and "href" in text.lower():
            try:
                out.append(lxml.html.fromstring(f"<div>{text}</div>"))
            except (etree.ParserError, ValueError):
                continue
    return out


def _irregular_rows(best: list[Row], root: etree._Element, base: str) -> list[Row]:
    """The best group plus rows of the same list that differ in shape: a row without its date, with an
    extra badge or a date in another element, an alternating class. A row belongs when its unit (the
    element that plays the part of the best rows' element) has their tag and one of their parents,
    and holds no other title link. Returned in page order."""
    # Sets of elements, not of id()s: lxml proxies are made on access, and a freed one's id is reused.
    parents = {r.element.getparent() for r in best}
    tags = {r.element.tag for r in best}
    have = {r.url for r in best}
    owned = {r.element for r in best}
    extra: list[Row] = []
    for r in _find_rows(root, base, dated=False):
        if r.url in have:
            continue
        node = r.anchor
        for _ in range(8):
            if node is None or not isinstance(node.tag, str) or node.tag in STOP_TAGS:
                break
            if node.tag in tags and node.getparent() in parents:
                if node not in owned and {urljoin(base, a.get("href").strip()) for a, t in _title_anchors(node)
                                               if len(t) >= 8} <= {r.url}:
                    extra.append(Row(node, r.anchor, r.url, r.title, _row_date(node, r.anchor) or date_from_url(r.url)))
                    have.add(r.url)
                break
            node = node.getparent()
    if not extra:
        return best
    order = {a: i for i, (a, _) in enumerate(_title_anchors(root))}
    return sorted(best + extra, key=lambda r: order.get(r.anchor, 0))


def find_items(root: etree._Element, url: str) -> list[dict]:
    """The article list of a parsed page (or fragment): [{url, title, date}] in page order."""
    base = _base_url(root, url)
    rows, score = _best_group(_find_rows(root, base, dated=True))
    if len(rows) >= 3 and score >= 1.5:
        return _dedupe(_irregular_rows(rows, root, base))
    # The visible page has no list of dated rows: a CMS may have left it inside a comment.
    for croot in _comment_roots(root):
        crows, cscore = _best_group(_find_rows(croot, base, dated=True))
        if len(crows) >= 2 and cscore > score:
            rows, score = crows, cscore
    # A last page may hold one or two rows; they still must look like titles outside page chrome.
    if rows and score >= 0.9:
        return _dedupe(rows)
    # Last resort: a list without dates, only when it clearly is one (many long titles, article-like URLs).
    urows, uscore = _best_group(_find_rows(root, base, dated=False))
    if len(urows) >= 5 and uscore >= 5:
        liked = sum(_article_like(r.url) for r in urows)
        avg = sum(len(r.title) for r in urows) / len(urows)
        if liked >= 0.8 * len(urows) and avg >= 10:
            return _dedupe(urows)
    return []


def parse_html(text: str) -> etree._Element | None:
    """Parse page text (or a fragment such as bare <tr> rows) leniently; None for empty input."""
    stripped = text.strip()
    if not stripped:
        return None
    if re.match(r"<(?:tr|td|tbody)\b", stripped, re.I):
        stripped = f"<table>{stripped}</table>"
    try:
        return lxml.html.document_fromstring(stripped) if re.search(r"<html|<body", stripped[:3000], re.I) \
            else lxml.html.fromstring(f"<div>{stripped}</div>")
    except (etree.ParserError, ValueError):
        return None
