"""What a listing page says about its section's own size: the stated record count and page count.

`stated(root, text, url)` reads an HTML listing page: 共775条 / 共有12条记录 / 总记录数：40 in a short
pager text (not in a title or a paragraph: "《办法》共19条" in a summary is not a count), the records
argument of TRS's createPageHTML('page_div', pages, current, 'list', 'shtml', records), script
variables (recordCount, totalRecord), and 共33页 / countPage for pages. JSON and Hanweb XML answers state
theirs in their own fields (crawler.listing.jsondata, crawler.listing.hanweb). Coverage compares these
numbers with what the archive holds for the section (archive/coverage.py).
"""

from __future__ import annotations

import re

from lxml import etree

from .pager import text_pager, trs_create_page
from .rows import SKIP_TAGS, norm_space

ITEMS_TEXT = re.compile(r"(?:共|总共|共有|总计|合计)\s*(\d+)\s*条|(?:总记录数|记录总数|总条数|记录数|信息总数)\s*[:：]?\s*(\d+)")
ITEMS_JS = re.compile(r"\b(?:recordCount|totalRecord|totalrecord|totalRecords|recordTotal)\s*[=:]\s*['\"]?(\d+)"
                      r"|laypage\.render\s*\(\s*\{[^}]*?\bcount\s*:\s*['\"]?(\d+)")
TRS_RECORDS = re.compile(r"createPageHTML\s*\(\s*['\"][^'\"]*['\"]\s*,\s*\d+\s*,\s*\d+\s*,\s*['\"][^'\"]*['\"]\s*,"
                         r"\s*['\"][^'\"]*['\"]\s*,\s*['\"]?(\d+)")
SHORT = 40  # characters: a pager's "第1-24条/共775条信息" is short; a sentence that mentions 共19条 is not
BUDGET = 400  # pieces of text looked at per page: a huge page costs no more


def _in_anchor(el: etree._Element) -> bool:
    return any(a.tag == "a" for a in (el, *el.iterancestors()) if isinstance(a.tag, str))


def _from_text(root: etree._Element) -> int | None:
    """共N条 in a short piece of pager text (climbing at most two levels for 共<b>N</b>条)."""
    budget = BUDGET
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in SKIP_TAGS:
            continue
        for holder, t in ((el, el.text), (el.getparent(), el.tail)):
            if holder is None or not t or not ("条" in t or "数" in t or "共" in t):
                continue
            budget -= 1
            if budget < 0:
                return None
            node = holder
            for _ in range(3):
                if node is None or len(node) > 12 or _in_anchor(node):
                    break
                text = norm_space(node.text_content())
                if len(text) > SHORT:
                    break
                m = ITEMS_TEXT.search(text)
                if m:
                    return int(m.group(1) or m.group(2))
                node = node.getparent()
    return None


def stated_items(root: etree._Element | None, text: str) -> int | None:
    """The section's record count as an HTML listing page states it, or None."""
    m = TRS_RECORDS.search(text)
    if m:
        return int(m.group(1))
    if root is not None:
        found = _from_text(root)
        if found is not None:
            return found
    m = ITEMS_JS.search(text)
    return int(m.group(1) or m.group(2)) if m else None


def stated_pages(root: etree._Element | None, text: str, url: str) -> int | None:
    """The page count an HTML listing page states (共N页, createPageHTML's count), not one guessed
    from the page numbers it happens to show."""
    trs = trs_create_page(text, url)
    if trs is not None and trs.total_pages is not None:
        return trs.total_pages
    textual = text_pager(root, url) if root is not None else None
    return textual.total_pages if textual else None


def stated(root: etree._Element | None, text: str, url: str) -> dict:
    """{"stated_items", "stated_pages"} of an HTML listing page (each None when not stated)."""
    return {"stated_items": stated_items(root, text), "stated_pages": stated_pages(root, text, url)}
