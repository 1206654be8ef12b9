"""How sure the extractor is about one record: flags for records that look wrong.

Flags (in `quality_flags`, stored in the archive, faceted in Datasette, counted per section in
`crawl_runs.sections`), each a sign that a site's template changed or that a page is not an article:

- `no_date`: no publication date anywhere (shown, metadata table, meta tags, URL);
- `no_title`: no headline at all;
- `empty_body`: no body text;
- `link_body`: the body is mostly the text of links to other pages (a list or navigation block as body);
- `meta_body`: the body is mostly `label：value` metadata lines (an info or 政府信息公开 block as body);
- `site_title`: the title is only the site's name (the headline was not found).

Where each field came from is `field_sources` (see page.py).
"""

from __future__ import annotations

import re

from lxml import etree

from . import fields
from .content import is_file_link
from .dom import collapse
from .title import key

FLAGS = ("no_date", "no_title", "empty_body", "link_body", "meta_body", "site_title")
_LINK_TEXT = etree.XPath(".//text()")
_SEPS = re.compile(r"\s*(?:_{1,2}|\||｜|--?|－|::)\s*")
_LABEL_LINE = re.compile(r"^[\u4e00-\u9fff][\u4e00-\u9fff\s\u3000]{1,7}[:：]\s*\S")
_SITE_NAME = re.compile(r"(?:人民政府|政府网|门户网站|政务网|政府门户|政务服务网|官方网站|官网)$")


def _link_share(content, body: str) -> float:
    """Share of the body's text that is the text of links to other pages (file links are the
    document's own attachments: a body that is one 附件 link is not a link list); needs 3 links."""
    text = re.sub(r"\s+", "", body)
    if content is None or not text:
        return 0.0
    pages = [a for a in content.iter("a") if not is_file_link((a.get("href") or "").strip())]
    if len(pages) < 3:
        return 0.0
    links = re.sub(r"\s+", "", "".join(t for a in pages for t in _LINK_TEXT(a)))
    return min(1.0, len(links) / len(text))


def _meta_share(lines: list[str], table: dict[str, str]) -> float:
    if len(lines) < 3:
        return 0.0
    values = {re.sub(r"\s+", "", v) for v in table.values()}
    meta = 0
    for line in lines:
        if "：" not in line and ":" not in line:
            meta += re.sub(r"\s+", "", line) in values
            continue
        prefix, pairs = fields.labelled(line)
        if (pairs and len(prefix) <= 4) or re.sub(r"\s+", "", line) in values \
                or (len(line) <= 60 and _LABEL_LINE.match(line)):
            meta += 1
    return meta / len(lines)


def site_names(meta: dict, page_title: str) -> set[str]:
    """What the page calls its site: meta SiteName/og:site_name, the <title> segments around the headline."""
    names = {key(meta.get("sitename")), key(meta.get("og:site_name")), key(meta.get("site"))}
    segments = [key(s) for s in _SEPS.split(page_title or "") if key(s)]
    if len(segments) >= 2:  # "headline_site" or "site-headline": the end that reads as a site name
        names.update(s for s in (segments[0], segments[-1]) if _SITE_NAME.search(s))
    return {n for n in names if n}


def flags(ctx, record: dict) -> list[str]:
    """The quality flags of a record extracted from the page context ctx."""
    out = []
    if not record.get("published"):
        out.append("no_date")
    title = key(record.get("title"))
    if not title:
        out.append("no_title")
    body = record.get("body") or ""
    if not collapse(body):
        out.append("empty_body")
    elif _link_share(ctx.content, body) > 0.5:
        out.append("link_body")
    elif _meta_share(ctx.body_lines, ctx.table) > 0.5:
        out.append("meta_body")
    if title and (title in site_names(ctx.meta, ctx.page_title)
                  or (len(title) <= 16 and _SITE_NAME.search(title) and title == key(ctx.page_title))):
        out.append("site_title")
    return out
