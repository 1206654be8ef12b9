"""Pages a browser must render: JS shells whose list is drawn by script, and anti-bot challenges."""

from __future__ import annotations

import re

from lxml import etree

from crawler.encoding import decode_html

from .rows import SKIP_TAGS, norm_space, parse_html

ANTI_BOT_STATUS = {202: "HTTP 202 challenge page", 412: "HTTP 412 anti-bot challenge"}
TEMPLATE_SIGNS = (
    (re.compile(r"type=[\"']text/x-handlebars-template", re.I), "handlebars template"),
    (re.compile(r"<app-root|ng-version=|ng-app=", re.I), "Angular app"),
    (re.compile(r"<div id=[\"'](?:app|root)[\"']>\s*</div>", re.I), "single-page app root"),
    (re.compile(r"\bv-for=|\{\{#each\b|\{\{\s*item\.", re.I), "client-side template"),
    (re.compile(r"loadPageData\s*\(", re.I), "list loaded by loadPageData()"),
)
# A list that says it is empty is an empty list, not a page whose list a script draws.
EMPTY_LIST = re.compile(r"暂无(?:信息|数据|内容|记录|相关)|没有(?:相关)?(?:信息|记录|数据)|无(?:相关)?记录")
CHALLENGE_SIGNS = re.compile(r"\$_ts\s*=|__jsl_clearance|_guard/auto\.js|<noscript>[^<]*enable JavaScript", re.I)


def visible_text(root: etree._Element | None) -> str:
    if root is None:
        return ""
    parts = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in SKIP_TAGS:
            continue
        if el.text:
            parts.append(el.text)
    for el in root.iter():
        if isinstance(el.tag, str) and el.tail and el.getparent() is not None and el.getparent().tag not in SKIP_TAGS:
            parts.append(el.tail)
    return norm_space(" ".join(parts))


def detect(root: etree._Element | None, text: str, status: int | None = None) -> str | None:
    """Why this page shows no list without a browser, or None when it is an ordinary page."""
    if status in ANTI_BOT_STATUS:
        return ANTI_BOT_STATUS[status]
    if CHALLENGE_SIGNS.search(text[:20000]):
        return "anti-bot script challenge"
    for pattern, reason in TEMPLATE_SIGNS:
        if pattern.search(text):
            return f"JavaScript shell ({reason})"
    scripts = len(re.findall(r"<script\b", text, re.I))
    visible = visible_text(root) if scripts else ""
    if scripts and len(visible) < 200 and not EMPTY_LIST.search(visible):
        return "JavaScript shell (script-only body)"
    return None


def page_shell(body: bytes, headers=None, status: int | None = None) -> str | None:
    """detect() for a page as received (an article that extracted to nothing: a shell or a challenge?)."""
    text, _ = decode_html(body, headers)
    return detect(parse_html(text), text, status)
