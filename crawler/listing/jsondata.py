"""JSON listing answers: `{"status":…, "html":"<tr>…"}` (www.changzhou.gov.cn ?act=ajax),
`{"data":{"html":…}}` (Hanweb JPaaS style) and record arrays (`data.results[].source`, TRS JSON)."""

from __future__ import annotations

import json
import math
import re
from urllib.parse import parse_qsl, urljoin, urlsplit

from .dates import date_from_url, normalize_date
from .hanweb import next_form
from .pager import page_param, set_query
from .rows import find_items, norm_space, parse_html

TITLE_KEYS = ("title", "name", "docTitle", "doctitle", "subject", "tit", "showTitle", "DOCTITLE")
URL_KEYS = ("url", "pcUrl", "link", "href", "docUrl", "docurl", "urls", "DOCPUBURL", "pubUrl", "chnlUrl")
DATE_KEYS = ("docRelPubTime", "pubDate", "publishTime", "publishDate", "pubdate", "date", "releaseTime", "docRelTime",
             "createTime", "time", "DOCRELTIME", "pubTime", "publish_time", "created")
TOTAL_PAGE_KEYS = ("totalPage", "totalPages", "pageCount", "pages", "totalpage", "total_page", "pagecount",
                   "pageTotal")
TOTAL_KEYS = ("total", "totalCount", "totalRecord", "totalrecord", "recordCount", "count", "totalElements")
SIZE_KEYS = ("pageSize", "perPage", "size", "rows", "limit", "per_page")
CURRENT_KEYS = ("current", "currentPage", "pageNo", "page", "pageNum", "pageIndex", "curPage", "number")


def loads(text: str) -> object | None:
    """JSON or JSONP text as a Python object, or None."""
    t = text.strip().lstrip("\ufeff")
    m = re.match(r"^[\w$.]+\s*\((.*)\)\s*;?\s*$", t, re.S)
    if m:
        t = m.group(1)
    try:
        return json.loads(t)
    except ValueError:
        return None


def _walk(obj: object, depth: int = 0):
    yield obj
    if depth > 6:
        return
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _walk(v, depth + 1)
    elif isinstance(obj, list):
        for v in obj[:500]:
            yield from _walk(v, depth + 1)


def _first(d: dict, keys: tuple[str, ...]) -> object:
    """The first non-empty value under one of `keys`, matched case-insensitively (TRS JSON is upper case)."""
    lower = {str(k).lower(): v for k, v in d.items()}
    for k in keys:
        v = lower.get(k.lower())
        if v not in (None, ""):
            return v
    return None


def _record_url(value: object) -> str | None:
    if isinstance(value, dict):
        return _record_url(value.get("pc") or value.get("url") or next(iter(value.values()), None))
    if isinstance(value, str):
        v = value.strip()
        if v.startswith("{"):
            inner = loads(v)
            if isinstance(inner, dict):
                return _record_url(inner)
        return v or None
    return None


def _record(d: dict, base: str) -> dict | None:
    src = d.get("source") if isinstance(d.get("source"), dict) else d
    title = _first(src, TITLE_KEYS)
    link = _record_url(_first(src, URL_KEYS))
    if not isinstance(title, str) or not link:
        return None
    title = norm_space(re.sub(r"<[^>]+>", "", title))
    if not title:
        return None
    url = urljoin(base, link)
    return {"url": url, "title": title, "date": normalize_date(_first(src, DATE_KEYS)) or date_from_url(url)}


def _int_of(obj: object, keys: tuple[str, ...]) -> int | None:
    for node in _walk(obj):
        if isinstance(node, dict):
            v = _first(node, keys)
            if isinstance(v, (int, float)) or (isinstance(v, str) and v.isdigit()):
                return int(v)
    return None


def _size_asked(url: str, request: dict | None) -> int | None:
    """The page size the request asked for, when the answer does not repeat it."""
    pairs = parse_qsl(urlsplit(url).query) + parse_qsl((request or {}).get("body") or "")
    for k, v in pairs:
        if k in SIZE_KEYS and v.isdigit():
            return int(v)
    return None


def parse(obj: object, url: str, request: dict | None) -> dict:
    items: list[dict] = []
    mechanism = "json"
    for node in _walk(obj):
        if isinstance(node, dict):
            html = node.get("html") if isinstance(node.get("html"), str) else None
            if html:
                root = parse_html(html)
                if root is not None:
                    items.extend(find_items(root, url))
                    mechanism = "json-html"
        elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
            recs = [r for r in (_record(x, url) for x in node) if r]
            if len(recs) >= max(1, len(node) // 2):
                items.extend(recs)
                mechanism = "json-records"
    seen, unique = set(), []
    for it in items:
        if it["url"] not in seen:
            seen.add(it["url"])
            unique.append(it)
    total_pages = _int_of(obj, TOTAL_PAGE_KEYS)
    if total_pages is None:
        total, size = _int_of(obj, TOTAL_KEYS), _int_of(obj, SIZE_KEYS) or _size_asked(url, request)
        if total is not None and size:
            total_pages = math.ceil(total / size)
    out = {"items": unique, "next_page": None, "total_pages": total_pages, "mechanism": mechanism,
           "requests": []}
    if not unique:
        return out
    param = page_param(url)
    if param:
        name, cur = param
        if total_pages is None or cur < total_pages:
            out["next_page"] = set_query(url, name, cur + 1)
        return out
    body = next_form((request or {}).get("body"))
    if body is not None:
        cur = _int_of(obj, CURRENT_KEYS)
        if total_pages is None or cur is None or cur < total_pages:
            out["requests"].append({"url": url, "method": (request or {}).get("method") or "POST", "body": body,
                                    "headers": dict((request or {}).get("headers") or {})})
    return out
