"""The articles table made for reading, and cells that read like a news archive (not like JSON).

By default (no ?_col= / ?_nocol=) the table page shows READING_COLUMNS: the title linked to the article
page, published, site, section, source and a short excerpt of the body (around the hit when searching).
The other columns stay searchable, filterable, sortable and in every CSV/JSON download.
"""

from __future__ import annotations

import json

from datasette.utils import tilde_encode
from markupsafe import Markup, escape

from archive import safety, search

READING_COLUMNS = ("title", "published", "site", "section", "source", "body")
LABELS = {"title": "title 标题", "published": "published 发布日期", "site": "site 站点", "section": "section 栏目",
          "source": "source 来源", "body": "excerpt 摘要"}
EXCERPT_WIDTH = 40  # characters each side of a search hit; twice this without a search
LIST_COLUMNS = ("sections", "images", "attachments", "allowed_hosts", "warc_files")
_MARK_OPEN, _MARK_CLOSE = "\x00mark\x01", "\x00/mark\x01"


def excerpt(text: str | None, query: str | None = None) -> Markup:
    """A short excerpt of an article body, escaped; with a search, around the first hit with <mark>s."""
    if not text:
        return Markup("")
    cut = search.snippet(safety.strip_bidi(text), query or "", width=EXCERPT_WIDTH, start=_MARK_OPEN, end=_MARK_CLOSE)
    return Markup(str(escape(cut)).replace(_MARK_OPEN, "<mark>").replace(_MARK_CLOSE, "</mark>"))


def reading_vars(request, columns: list[str]) -> dict | None:
    if "_col" in request.args or "_nocol" in request.args:
        return None
    shown = [c for c in READING_COLUMNS if c in columns]
    return {"columns": shown, "labels": LABELS, "excerpt": excerpt,
            "all_columns": [("_col", c) for c in columns if c not in ("url", "rowid")]}


def list_cell(value: str) -> Markup | None:
    """A JSON array (sections, images, attachments …) as a list: strings as they are, objects by text/alt/url."""
    if not value.startswith("["):
        return None
    try:
        items = json.loads(value)
    except ValueError:
        return None
    if not isinstance(items, list):
        return None
    shown = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("text") or item.get("alt") or item.get("url") or ""
        shown.append(Markup("<li>{}</li>").format(safety.strip_bidi(str(item))))
    return Markup('<ul class="govnews-list">{}</ul>').format(Markup("").join(shown)) if shown else Markup("")


def title_link(datasette, database: str, url: str | None, title: str) -> Markup | None:
    if not isinstance(url, str):
        return None
    href = datasette.urls.row(database, "articles", tilde_encode(url))
    return Markup('<a class="govnews-title" href="{}">{}</a>').format(href, safety.strip_bidi(title))


def change_cell(datasette, database: str, row, value: str) -> Markup | None:
    """On the changes page: a change links to its diff on the article page."""
    keys = row.keys()
    if "url" not in keys or "to_version" not in keys or not row["to_version"] or not row["from_version"]:
        return None
    href = (datasette.urls.row(database, "articles", tilde_encode(row["url"]))
            + f"?from={int(row['from_version'])}&to={int(row['to_version'])}#govnews-diff")
    return Markup('<a class="govnews-change" href="{}">{}</a>').format(href, value)
