"""Listing pages: the section's article list, the way to the next page, and what else must be fetched.

`extract_listing(url, body, headers=None, hints=None)` is a pure function (no Scrapy, no network):

    {"items": [{"url", "title", "date"}], "next_page": url|None, "total_pages": int|None,
     "stated_items": int|None, "stated_pages": int|None, "mechanism": str,
     "requests": [{"url", "method", "body", "headers"}], "shell": str|None,
     "fields": {"url", "title", "date", "dates"}|None, "encoding": str}

`next_page` is a plain GET the walker can follow; `requests` are further listing/data requests that are
not a plain next link (Hanweb dataproxy.jsp POST windows, /queryList POSTs, chained JSON form posts).
`shell` explains why a page that has no list needs a browser (JS shell, anti-bot challenge).
`stated_items`/`stated_pages` are the section's size as the page states it (共N条, recordCount,
totalrecord; 共N页, totalpage: crawler/listing/totals.py); `total_pages` may also be a guess from the
page numbers shown. The walk keeps the stated sizes for coverage (crawler/walk.py).

hints (all optional): "request" — the request that fetched this body (so a POST can be advanced);
"status" — the HTTP status; "mechanism"/"params" — from a site definition when detection cannot work:
  mechanism "changzhou-ajax" with params {"gi": …, …} turns a /ns_class/<code> page into its ?act=ajax walk;
  mechanism "page-param" with params {"param": "page"} forces a ?page=N walk;
"items_css" — a CSS selector for the list rows when the generic finder needs help;
"json_fields" — {"url", "title", "date"}: the record keys of a JSON listing API, when the values do not
  make them plain (`url` may be a template such as "/art/{ID}.html").

`fields` (JSON record answers only) says which record keys gave the URL, title and date, and every
date key seen, preferred first.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from crawler.encoding import decode_html

from . import hanweb, jsondata, pager, rows, shell, totals
from .dates import date_from_url

__all__ = ["HINT_MECHANISMS", "extract_listing"]

# Mechanisms a site definition may name in its `listing` table when detection cannot work.
HINT_MECHANISMS = {"auto", "changzhou-ajax", "page-param"}


def _result(**kw: object) -> dict:
    out = {"items": [], "next_page": None, "total_pages": None, "stated_items": None, "stated_pages": None,
           "mechanism": "none", "requests": [], "shell": None, "fields": None}
    out.update(kw)
    return out


def _items_by_css(root, url: str, css: str) -> list[dict]:
    base = rows._base_url(root, url)
    items, seen = [], set()
    for row in root.cssselect(css):
        best = None
        for a in row.iter("a"):
            title = rows.anchor_title(a)
            if rows._is_title_anchor(a, title) and (best is None or len(title) > len(best[1])):
                best = (a, title)
        if best is None:
            continue
        link = urljoin(base, best[0].get("href").strip())
        if link not in seen:
            seen.add(link)
            items.append({"url": link, "title": best[1], "date": rows._row_date(row, best[0]) or date_from_url(link)})
    return items


def _changzhou_ajax(url: str, params: Mapping, has_items: bool) -> dict | None:
    """www.changzhou.gov.cn columns that fill their table from GET /ns_class/<code>?act=ajax&…&page=N."""
    s = urlsplit(url)
    if "/ns_class/" not in s.path or "act=ajax" in s.query:
        return None
    path = "/".join(s.path.rstrip("/").split("/")[:3])
    query = {"act": "ajax", **{k: str(v) for k, v in params.items()}, "page": "1"}
    target = urlunsplit((s.scheme, s.netloc, path, urlencode(query), ""))
    return {"next_page": target, "mechanism": "changzhou-ajax"}


def extract_listing(url: str, body: bytes, headers: Mapping | None = None, hints: dict | None = None) -> dict:
    """Items, next page, page count, mechanism and further requests of one listing page or data answer."""
    hints = hints or {}
    text, encoding = decode_html(body, headers)
    request = hints.get("request")
    status = hints.get("status")
    mech_hint = hints.get("mechanism")
    params = hints.get("params") or {}

    if hanweb.is_dataproxy_xml(text):
        return _result(**hanweb.dataproxy(text, url, request), encoding=encoding)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in "{[" or (stripped[:80].split("(", 1)[0].replace(".", "").replace("_", "").isalnum()
                                 and stripped.rstrip().rstrip(";").endswith(")")):
        data = jsondata.loads(text)
        if data is not None:
            return _result(**jsondata.parse(data, url, request, hints.get("json_fields")), encoding=encoding)

    if hanweb.has_datastore(text) or "ajaxParam" in text:
        col = hanweb.column_page(text, url)
        if col is not None:
            return _result(**col, encoding=encoding)

    root = rows.parse_html(text)
    if root is None:
        reason = shell.detect(None, text, status)
        return _result(mechanism="js-shell" if reason else "none", shell=reason or "empty page", encoding=encoding)
    stated = totals.stated(root, text, url)
    if hints.get("items_css"):
        items = _items_by_css(root, url, hints["items_css"])
    else:
        items = rows.find_items(root, url)
    base = rows._base_url(root, url)

    if mech_hint == "changzhou-ajax":
        found = _changzhou_ajax(url, params, bool(items))
        if found:
            return _result(items=items, **found, **stated, encoding=encoding)
    if mech_hint == "page-param" and items:
        name = params.get("param", "page")
        cur = (pager.page_param(url) or (name, int(params.get("start", 1))))[1]
        return _result(items=items, next_page=pager.set_query(url, name, cur + 1), mechanism="page-param",
                       **stated, encoding=encoding)

    found = pager.detect(root, text, base, url, bool(items))
    result = _result(items=items, next_page=found.next_page, total_pages=found.total_pages,
                     mechanism=found.mechanism, **stated, encoding=encoding)
    if found.next_page and pager.same_page(found.next_page, url):
        result["next_page"] = None
    if not items:
        reason = shell.detect(root, text, status)
        if reason:
            result.update(shell=reason, mechanism="js-shell", next_page=None)
            ql = hanweb.query_list(text, url)
            if ql:
                result.update(requests=ql["requests"], mechanism=ql["mechanism"])
    elif status in shell.ANTI_BOT_STATUS:
        result["shell"] = shell.ANTI_BOT_STATUS[status]
    return result
