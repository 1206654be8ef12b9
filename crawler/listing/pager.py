"""Pagination of HTML listing pages: how to reach the next page, and how many pages there are.

Each detector looks at one CMS habit and returns a Pager or None; `detect` runs them in order of how
specific they are (a script that states the page count beats a guess from the URL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import etree

from .rows import SKIP_TAGS, norm_space

NEXT_STRONG = re.compile(r"^(?:下一页|下页|后页|下一頁|下一页\s*[>»›]+|next|next\s*page|next\s*[>»›]+)$", re.I)
NEXT_WEAK = re.compile(r"^(?:[>›]|»|>>|››)$")
LAST_WORDS = re.compile(r"^(?:尾页|末页|最后一页|last)$", re.I)
PAGE_PARAMS = ("page", "pageNo", "pageNum", "pageIndex", "curPage", "currentPage", "pageno", "page_no",
               "pagenum", "pn", "cpage", "p", "current")
CURRENT_TOKENS = re.compile(r"(?:^|[\s_-])(?:current|cur|active|on|selected|now|thisclass|hover|curr)(?:$|[\s_-])", re.I)


@dataclass
class Pager:
    mechanism: str
    next_page: str | None = None
    total_pages: int | None = None
    current: int | None = None


def same_page(a: str, b: str) -> bool:
    """URLs naming one page (fragment and a trailing index file ignored)."""

    def key(u: str) -> str:
        s = urlsplit(u)
        path = re.sub(r"/index\.(?:s?html?|jsp|php|aspx?)$", "/", s.path or "/")
        return f"{s.netloc.lower()}{path}?{s.query}"

    return key(a) == key(b)


def set_query(url: str, key: str, value: object) -> str:
    s = urlsplit(url)
    pairs = parse_qsl(s.query, keep_blank_values=True)
    done, out = False, []
    for k, v in pairs:
        if k == key and not done:
            out.append((k, str(value)))
            done = True
        elif k != key:
            out.append((k, v))
    if not done:
        out.append((key, str(value)))
    return urlunsplit((s.scheme, s.netloc, s.path, urlencode(out, safe="/:,[]"), ""))


def page_param(url: str) -> tuple[str, int] | None:
    """The query parameter holding the page number, when the URL has one."""
    pairs = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    for name in PAGE_PARAMS:
        for k, v in pairs.items():
            if k.lower() == name.lower() and v.strip().isdigit():
                return k, int(v)
    return None


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip().strip("'\""))
    except (TypeError, ValueError):
        return None


def _js_var(text: str, name: str) -> int | None:
    m = re.search(r"\b" + name + r"\s*=\s*['\"]?(\d+)", text)
    return int(m.group(1)) if m else None


# ---- TRS WCM: createPageHTML(...) -----------------------------------------------------------------
_CREATE = re.compile(r"createPageHTML\s*\(([^()]*)\)", re.I)


def trs_create_page(text: str, url: str) -> Pager | None:
    """TRS page scripts. Two shapes are in use:
    createPageHTML(count, current0, "index", "html"): pages index.html, index_1.html … index_{count-1};
    createPageHTML('page_div', count, current1, 'list', 'shtml', records): pages list.shtml, list_2 …"""
    for m in _CREATE.finditer(text):
        args = [a.strip() for a in m.group(1).split(",")]
        if len(args) < 2 or "function" in text[max(0, m.start() - 10): m.start()]:
            continue
        quoted = [bool(re.fullmatch(r"(['\"]).*\1", a)) for a in args]
        values = [a.strip("'\"") for a in args]
        if quoted[0] and len(args) >= 5 and _int(values[1]) is not None:
            count, cur, prefix, ext = _int(values[1]), _int(values[2]) or 1, values[3], values[4]
            nxt = f"{prefix}_{cur + 1}.{ext}" if count and cur < count else None
            return Pager("trs-createPageHTML", urljoin(url, nxt) if nxt else None, count, cur)
        count = _int(values[0]) if values[0].strip().isdigit() or quoted[0] else _js_var(text, values[0])
        cur = _int(values[1]) if len(values) > 1 and _int(values[1]) is not None else _js_var(text, values[1])
        if count is None:
            continue
        cur = cur or 0
        prefix = values[2] if len(values) > 2 and quoted[2] else _js_str(text, values[2]) if len(values) > 2 else None
        ext = values[3] if len(values) > 3 and quoted[3] else _js_str(text, values[3]) if len(values) > 3 else None
        prefix, ext = prefix or "index", ext or "html"
        nxt = f"{prefix}_{cur + 1}.{ext}" if cur + 1 < count else None
        return Pager("trs-createPageHTML", urljoin(url, nxt) if nxt else None, count, cur + 1)
    count = _js_var(text, "countPage")
    if count is not None:
        cur = _js_var(text, "currentPage") or 0
        prefix = _js_str(text, "prefixName") or "index"
        ext = _js_str(text, "suffixName") or _ext_of(url)
        nxt = f"{prefix}_{cur + 1}.{ext}" if cur + 1 < count else None
        return Pager("trs-createPageHTML", urljoin(url, nxt) if nxt else None, count, cur + 1)
    return None


def _js_str(text: str, name: str) -> str | None:
    m = re.search(r"\b" + re.escape(name) + r"\s*=\s*['\"]([^'\"]+)['\"]", text)
    return m.group(1) if m else None


def _ext_of(url: str) -> str:
    m = re.search(r"\.(s?html?)$", urlsplit(url).path)
    return m.group(1) if m else "html"


# ---- links in the page -----------------------------------------------------------------------------
def _pager_anchors(root: etree._Element) -> list[tuple[etree._Element, str]]:
    out = []
    for a in root.iter("a"):
        if any(isinstance(p.tag, str) and p.tag in SKIP_TAGS for p in a.iterancestors()):
            continue
        text = norm_space(a.text_content()) or norm_space(a.get("title") or "")
        if not text:
            for img in a.iter("img"):
                text = norm_space(img.get("alt") or img.get("title") or "")
                break
        out.append((a, text))
    return out


def _resolvable(href: str | None) -> bool:
    if not href or not href.strip():
        return False
    h = href.strip().lower()
    return not h.startswith(("javascript:", "#", "mailto:"))


def _bare(text: str) -> str:
    return re.sub(r"[\s\[\]【】()（）<>«»‹›]", "", text)


def next_link(root: etree._Element, base: str, url: str) -> Pager | None:
    anchors = _pager_anchors(root)
    strong = [a for a, t in anchors if NEXT_STRONG.match(t) or NEXT_STRONG.match(_bare(t))]
    strong += [a for a, t in anchors if a not in strong and "next" in (a.get("class") or "").lower().split()]
    weak = [a for a, t in anchors if NEXT_WEAK.match(t)]
    for group in (strong, weak):
        if not group:
            continue
        for a in group:
            href = a.get("href")
            if _resolvable(href):
                target = urljoin(base, href.strip())
                return Pager("next-link", None if same_page(target, url) else target)
        # A "下一页" that is plain text or a script link: we are on the last page, or it needs a script.
        return Pager("next-link", None)
    for link in root.iter("link"):
        if (link.get("rel") or "").lower() == "next" and _resolvable(link.get("href")):
            return Pager("next-link", urljoin(base, link.get("href").strip()))
    return None


def numbered_links(root: etree._Element, base: str, url: str) -> Pager | None:
    """Pagers that are a row of page numbers: the next page is the number after the current one."""
    numbered: dict[int, etree._Element] = {}
    parents: dict[etree._Element, int] = {}
    for a, text in _pager_anchors(root):
        t = text.strip("[]【】 ")
        if re.fullmatch(r"\d{1,4}", t) and _resolvable(a.get("href")):
            numbered.setdefault(int(t), a)
            p = a.getparent()
            gp = p.getparent() if p is not None else None
            for node in (p, gp):
                if node is not None:
                    parents[node] = parents.get(node, 0) + 1
    if len(numbered) < 1 or not parents or max(parents.values()) < 1:
        return None
    container = max(parents, key=lambda n: parents[n])
    current = None
    for el in container.iter():
        if not isinstance(el.tag, str) or el is container:
            continue
        t = norm_space(el.text_content()).strip("[]【】 ")
        if not re.fullmatch(r"\d{1,4}", t):
            continue
        cls = f"{el.get('class') or ''} {el.get('id') or ''}"
        is_link = el.tag == "a" and _resolvable(el.get("href"))
        if (not is_link and el.tag in ("span", "strong", "b", "em", "font", "a", "li", "td")) or CURRENT_TOKENS.search(cls):
            if not any(isinstance(c.tag, str) and norm_space(c.text_content()) == t for c in el):
                current = int(t)
                break
    if current is None:
        param = page_param(url)
        if param:
            current = param[1]
        elif 1 not in numbered and 2 in numbered:
            current = 1
    if current is None:
        return None
    total = max([*numbered, current])
    a = numbered.get(current + 1)
    if a is None:
        return Pager("numbered-links", None, total, current)
    target = urljoin(base, a.get("href").strip())
    return Pager("numbered-links", None if same_page(target, url) else target, total, current)


# ---- text pagers: 第1页/共33页 ------------------------------------------------------------------------
_TOTAL = re.compile(r"共\s*(\d+)\s*页")
_CURRENT = re.compile(r"(?:第|当前(?:第)?|当前页[:：]?)\s*(\d+)\s*页|(\d+)\s*/\s*(\d+)\s*页")
_INDEXED = re.compile(r"^(?P<dir>.*/)(?P<stem>[A-Za-z][\w-]*?)(?:_(?P<n>\d+))?\.(?P<ext>s?html?)$")


def text_pager(root: etree._Element, url: str) -> Pager | None:
    text = " ".join(
        t for el in root.iter() if isinstance(el.tag, str) and el.tag not in SKIP_TAGS
        for t in (el.text, el.tail) if t and ("页" in t or "/" in t)
    )
    total_m = _TOTAL.search(text)
    cur_m = _CURRENT.search(text)
    total = int(total_m.group(1)) if total_m else None
    current = None
    if cur_m:
        if cur_m.group(1):
            current = int(cur_m.group(1))
        else:
            current, total = int(cur_m.group(2)), total or int(cur_m.group(3))
    if total is None:
        return None
    pager = Pager("static-pager", None, total, current)
    m = _INDEXED.match(urlsplit(url).path)
    if current is not None and m and current < total:
        # TRS/.NET static pagers: page 1 is index.htm, page N is index_{N-1}.htm.
        path = f"{m['dir']}{m['stem']}_{current}.{m['ext']}"
        s = urlsplit(url)
        pager.next_page = urlunsplit((s.scheme, s.netloc, path, "", ""))
    return pager


# ---- www.changzhou.gov.cn: /ns_class/<code>/<N> ---------------------------------------------------------
_NS_CLASS = re.compile(r"^(?P<base>/ns_class/[^/?#]+?)(?:/(?P<n>\d+))?/?$")


def ns_class(url: str, total: int | None, has_items: bool) -> Pager | None:
    s = urlsplit(url)
    m = _NS_CLASS.match(s.path)
    if not m or "act=ajax" in s.query:
        return None
    cur = int(m["n"] or 1)
    if not has_items or (total is not None and cur >= total):
        return Pager("ns_class", None, total, cur)
    return Pager("ns_class", urlunsplit((s.scheme, s.netloc, f"{m['base']}/{cur + 1}", "", "")), total, cur)


def detect(root: etree._Element, text: str, base: str, url: str, has_items: bool) -> Pager:
    """The page's pagination. Order: scripts that state the count, explicit links, then URL patterns."""
    trs = trs_create_page(text, url)
    if trs:
        return trs
    textual = text_pager(root, url)
    total = textual.total_pages if textual else None
    nxt = next_link(root, base, url)
    numbered = numbered_links(root, base, url)
    if numbered and numbered.next_page and (nxt is None or nxt.next_page is None):
        total = total or None
        if textual:
            numbered.total_pages = textual.total_pages
        return numbered
    if nxt is not None:
        if nxt.next_page is None and textual and textual.next_page:
            return textual
        nxt.total_pages = total
        if textual and nxt.next_page:
            nxt.mechanism = "static-pager"
        return nxt
    if textual and textual.next_page:
        return textual
    cz = ns_class(url, total, has_items)
    if cz:
        return cz
    param = page_param(url)
    if param and has_items:
        name, cur = param
        if total is None or cur < total:
            return Pager("page-param", set_query(url, name, cur + 1), total, cur)
        return Pager("page-param", None, total, cur)
    if numbered:
        return numbered
    if textual:
        return textual
    return Pager("none", None, None)
