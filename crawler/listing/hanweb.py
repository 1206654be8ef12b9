"""Hanweb (大汉) JCMS lists.

Column pages embed the first records as `<script type="text/xml"><datastore>…<recordset><record>
<![CDATA[<li>…</li>]]></record>…` and load the rest from /module/web/jpage/dataproxy.jsp:
- the GET form named by `<nextgroup><![CDATA[<a href="…dataproxy.jsp?page=1&webid=…&columnid=…">`;
- the POST form `dataproxy.jsp?startrecord=S&endrecord=E&perpage=P` with the init script's `ajaxParam`
  (col=1&appid=1&webid=…&path=/&columnid=…&unitid=…&webname=…&permissiontype=0) as the form body.
The XML answer carries `<totalrecord>` and `<totalpage>` (pages of `perpage` records).
Newer Hanweb column pages render everything from a `loadPageData(params)` call that POSTs to /queryList.
"""

from __future__ import annotations

import html as htmlmod
import math
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from .dates import date_from_url, find_date, is_date_only
from .pager import set_query
from .rows import _is_title_anchor, _visible_texts, anchor_title, parse_html

RECORD = re.compile(r"<record[^>]*>\s*(?:<!\[CDATA\[(.*?)\]\]>|(.*?))\s*</record>", re.S | re.I)
NEXTGROUP = re.compile(r"<nextgroup[^>]*>\s*(?:<!\[CDATA\[)?\s*<a[^>]+href=[\"']([^\"']+)", re.S | re.I)
TAG_INT = {name: re.compile(rf"<{name}>\s*(\d+)\s*</{name}>", re.I) for name in ("totalrecord", "totalpage")}
FORM = "application/x-www-form-urlencoded; charset=UTF-8"


def has_datastore(text: str) -> bool:
    low = text.lower()
    return ("<datastore" in low and "<record" in low) or "&lt;record&gt;" in low


def is_dataproxy_xml(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith("<datastore") or (head.startswith("<?xml") and "<datastore" in text[:500].lower())


def records(text: str, url: str) -> list[dict]:
    """One item per <record>: its title link, list title and date."""
    items, seen = [], set()
    if "<record" not in text.lower() and "&lt;record&gt;" in text.lower():
        text = htmlmod.unescape(text)  # some templates print the datastore escaped
    for m in RECORD.finditer(text):
        fragment = m.group(1) if m.group(1) is not None else htmlmod.unescape(m.group(2) or "")
        root = parse_html(fragment)
        if root is None:
            continue
        best = None
        for a in root.iter("a"):
            title = anchor_title(a)
            if _is_title_anchor(a, title) and (best is None or len(title) > len(best[1])):
                best = (a, title)
        if best is None:
            continue
        a, title = best
        link = urljoin(url, a.get("href").strip())
        if link in seen:
            continue
        seen.add(link)
        date = None
        for t, _inside in _visible_texts(root, a):
            if is_date_only(t):
                date = find_date(t)
                break
        if date is None:
            date = find_date(" ".join(t for t, inside in _visible_texts(root, a) if not inside))
        if date is None:
            for el in root.iter():
                if isinstance(el.tag, str) and el.get("readlabel"):
                    date = find_date(el.get("readlabel"))
        items.append({"url": link, "title": title, "date": date or date_from_url(link)})
    return items


def _tag_int(text: str, name: str) -> int | None:
    m = TAG_INT[name].search(text)
    return int(m.group(1)) if m else None


def _js_int(text: str, key: str) -> int | None:
    m = re.search(r"\b" + key + r"\s*:\s*['\"]?(\d+)", text)
    return int(m.group(1)) if m else None


def ajax_params(text: str) -> dict[str, str] | None:
    """The init script's ajaxParam object (JS literal, keys unquoted), in its own order."""
    m = re.search(r"ajaxParam\s*:\s*\{([^{}]*)\}", text)
    if not m:
        return None
    out = {}
    for k, v1, v2, v3 in re.findall(r"['\"]?(\w+)['\"]?\s*:\s*(?:'([^']*)'|\"([^\"]*)\"|([^,}\s]+))", m.group(1)):
        out[k] = v1 or v2 or v3
    return out or None


def _request(url: str, method: str, body: str | None, referer: str | None) -> dict:
    headers = {"X-Requested-With": "XMLHttpRequest"}
    if body is not None:
        headers["Content-Type"] = FORM
    if referer:
        headers["Referer"] = referer
    return {"url": url, "method": method, "body": body, "headers": headers}


def column_page(text: str, url: str) -> dict | None:
    """A Hanweb column page with an embedded datastore (and maybe a jpage init script)."""
    if not has_datastore(text) and "jpage" not in text.lower():
        return None
    items = records(text, url)
    params = ajax_params(text)
    per_page = _js_int(text, "perPage")
    group = _js_int(text, "groupSize") or 3
    total_records = _js_int(text, "totalRecord") or _tag_int(text, "totalrecord")
    total_pages = _tag_int(text, "totalpage")
    if total_pages is None and total_records and per_page:
        total_pages = math.ceil(total_records / per_page)
    if not items and params is None:
        return None
    out = {"items": items, "next_page": None, "total_pages": total_pages, "mechanism": "hanweb-jpage",
           "requests": [], "stated_items": total_records, "stated_pages": _tag_int(text, "totalpage")}
    proxy = re.search(r"proxyUrl\s*:\s*['\"]([^'\"]+)", text)
    nextgroup = NEXTGROUP.search(text)
    if params is not None and proxy:
        # POST windows of groupSize pages follow the records the page already shows.
        window = (per_page or 15) * group
        start = len(items) + 1 if items else 1
        if total_records is None or start <= total_records:
            q = urlencode({"startrecord": start, "endrecord": start + window - 1, "perpage": per_page or 15})
            target = urljoin(url, proxy.group(1)) + "?" + q
            out["requests"].append(_request(target, "POST", urlencode(params, safe="/"), url))
        out["mechanism"] = "hanweb-jpage-post"
    elif nextgroup:
        target = urljoin(url, htmlmod.unescape(nextgroup.group(1)))
        out["next_page"] = target
        out["mechanism"] = "hanweb-jpage-get"
    return out


def dataproxy(text: str, url: str, request: dict | None) -> dict:
    """The XML answer of dataproxy.jsp (either form): its records, and the request for the next batch."""
    items = records(text, url)
    total_records = _tag_int(text, "totalrecord")
    total_pages = _tag_int(text, "totalpage")
    out = {"items": items, "next_page": None, "total_pages": total_pages, "mechanism": "hanweb-dataproxy",
           "requests": [], "stated_items": total_records, "stated_pages": total_pages}
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if not items:
        return out
    if "startrecord" in query and "endrecord" in query:
        start, end = int(query["startrecord"] or 1), int(query["endrecord"] or 0)
        size = max(1, end - start + 1)
        if total_records is not None and end >= total_records:
            return out
        target = set_query(set_query(url, "startrecord", end + 1), "endrecord", end + size)
        method = (request or {}).get("method") or "POST"
        body = (request or {}).get("body")
        if "columnid" in query and body is None:
            # Everything is in the query string: a plain GET walk.
            out["next_page"] = target
        else:
            referer = ((request or {}).get("headers") or {}).get("Referer")
            out["requests"].append(_request(target, method, body, referer))
        out["mechanism"] = "hanweb-dataproxy-post"
        return out
    nextgroup = NEXTGROUP.search(text)
    if nextgroup:
        out["next_page"] = urljoin(url, htmlmod.unescape(nextgroup.group(1)))
    elif "page" in query and query["page"].isdigit():
        page = int(query["page"])
        if total_pages is None or page < total_pages:
            out["next_page"] = set_query(url, "page", page + 1)
    out["mechanism"] = "hanweb-dataproxy-get"
    return out


# ---- new-generation Hanweb: loadPageData(params) → POST /queryList -----------------------------------------
def _js_object(text: str, start: int) -> dict[str, object]:
    body = text[start: text.find("}", start)]
    out: dict[str, object] = {}
    for k, arr, v1, v2, v3 in re.findall(
            r"(\w+)\s*:\s*(?:\[([^\]]*)\]|'([^']*)'|\"([^\"]*)\"|([^,}\s]+))", body):
        if arr or (arr == "" and not (v1 or v2 or v3) and re.search(rf"\b{k}\s*:\s*\[", body)):
            out[k] = [x.strip().strip("'\"") for x in arr.split(",") if x.strip()]
        else:
            out[k] = v1 or v2 or v3
    return out


def query_list(text: str, url: str) -> dict | None:
    """A column page whose list is drawn by loadPageData(params): the POST the page's script would make."""
    m = re.search(r"var\s+params\s*=\s*\{", text)
    if not m or "loadPageData" not in text:
        return None
    params = _js_object(text, m.end())
    if not params.get("unitid"):
        return None
    form: list[tuple[str, str]] = []
    for k, v in params.items():
        if isinstance(v, list):
            form.extend((f"{k}[]", x) for x in v)
        elif k in ("current", "unitid", "perPage", "dataBefore", "dataAfter", "showMode", "groupSize",
                   "barPosition", "titleMax", "templateContainerId", "themeName", "notReturnContent"):
            form.append((k, str(v)))
    if "perPage" in params:
        form.append(("pageSize", str(params["perPage"])))
    target = urljoin(url, "/queryList")
    return {"items": [], "next_page": None, "total_pages": None, "mechanism": "hanweb-querylist",
            "requests": [_request(target, "POST", urlencode(form), url)]}


def next_form(body: str | None, fields: tuple[str, ...] = ("current", "page", "pageNo", "pageNum", "curPage",
                                                            "pageIndex")) -> str | None:
    """The same form body with its page-number field advanced by one; None when it has none."""
    if not body:
        return None
    pairs = parse_qsl(body, keep_blank_values=True)
    for i, (k, v) in enumerate(pairs):
        if k in fields and v.isdigit():
            pairs[i] = (k, str(int(v) + 1))
            return urlencode(pairs)
    return None

