"""JSON listing answers: `{"status":…, "html":"<tr>…"}` (www.changzhou.gov.cn ?act=ajax),
`{"data":{"html":…}}` (Hanweb JPaaS style) and record arrays anywhere in the document, whatever
their keys (crawler/listing/records.py). JSONP is unwrapped."""

from __future__ import annotations

import json
import math
import re
from urllib.parse import parse_qsl, urlsplit

from . import records
from .hanweb import next_form
from .pager import page_param, set_query
from .records import Fields
from .rows import find_items, parse_html

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


def _records(obj: object, depth: int = 0):
    """Every array of objects in the document, outermost first; an array taken as records is not
    searched further (its records' own arrays, attachments say, are not listing items)."""
    if depth > 6:
        return
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _records(v, depth + 1)
    elif isinstance(obj, list):
        dicts = [x for x in obj[:500] if isinstance(x, dict)]
        if dicts and len(dicts) == len(obj[:500]):
            taken = yield dicts
            if taken:
                return
        for v in obj[:500]:
            yield from _records(v, depth + 1)


def _first(d: dict, keys: tuple[str, ...]) -> object:
    """The first non-empty value under one of `keys`, matched case-insensitively (TRS JSON is upper case)."""
    lower = {str(k).lower(): v for k, v in d.items()}
    for k in keys:
        v = lower.get(k.lower())
        if v not in (None, ""):
            return v
    return None


def _int_of(obj: object, keys: tuple[str, ...]) -> int | None:
    for node in _walk(obj):
        if isinstance(node, dict):
            v = _first(node, keys)
            if isinstance(v, (int, float)) or (isinstance(v, str) and v.isdigit()):
                return int(v)
    return None


def _stated(obj: object, keys: tuple[str, ...], depth: int = 0) -> int | None:
    """A count the answer states in its paging fields: objects outside the record arrays (a record's
    own "count", its visits say, is not the section's size)."""
    if not isinstance(obj, dict) or depth > 4:
        return None
    v = _first(obj, keys)
    if isinstance(v, int | float) or (isinstance(v, str) and v.isdigit()):
        return int(v)
    for child in obj.values():
        found = _stated(child, keys, depth + 1)
        if found is not None:
            return found
    return None


def _size_asked(url: str, request: dict | None) -> int | None:
    """The page size the request asked for, when the answer does not repeat it."""
    pairs = parse_qsl(urlsplit(url).query) + parse_qsl((request or {}).get("body") or "")
    for k, v in pairs:
        if k in SIZE_KEYS and v.isdigit():
            return int(v)
    return None


def parse(obj: object, url: str, request: dict | None, json_fields: dict | None = None) -> dict:
    """Items and paging of a JSON answer; `json_fields` (a site's override) names the record keys."""
    items: list[dict] = []
    mechanism = "json"
    used: Fields | None = None
    for node in _walk(obj):
        if isinstance(node, dict):
            html = node.get("html") if isinstance(node.get("html"), str) else None
            if html:
                root = parse_html(html)
                if root is not None:
                    items.extend(find_items(root, url))
                    mechanism = "json-html"
    walker = _records(obj)
    arrays = next(walker, None)
    while arrays is not None:
        flat = [records.flatten(r) for r in arrays]
        fields = records.find_fields(flat, json_fields)
        recs = [r for r in (records.read(x, fields, url) for x in flat) if r] if fields else []
        taken = len(recs) >= max(1, len(flat) // 2)
        if taken:
            items.extend(recs)
            mechanism, used = "json-records", used or fields
        try:
            arrays = walker.send(taken)
        except StopIteration:
            break
    seen, unique = set(), []
    for it in items:
        if it["url"] not in seen:
            seen.add(it["url"])
            unique.append(it)
    total_pages = _int_of(obj, TOTAL_PAGE_KEYS)
    if total_pages is None:
        # Without a stated page size, this page's own count stands in (a short last page only makes
        # the walk ask for one more, empty, page).
        total = _int_of(obj, TOTAL_KEYS)
        size = _int_of(obj, SIZE_KEYS) or _size_asked(url, request) or len(unique)
        if total is not None and size:
            total_pages = math.ceil(total / size)
    out = {"items": unique, "next_page": None, "total_pages": total_pages, "mechanism": mechanism,
           "requests": [], "fields": used.as_dict() if used else None,
           "stated_items": _stated(obj, TOTAL_KEYS), "stated_pages": _stated(obj, TOTAL_PAGE_KEYS)}
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
