"""CMS family detection by markup: where each family puts the article body.

Detection never looks at the host name: the same CMS runs on hundreds of government sites, and the
fixture mirrors reproduce the markup on 127.0.0.1. Each detector yields candidate content elements in
order of trust; the caller takes the first that holds text or images.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from .dom import string_of

# Comment pairs that CMS templates wrap around the article body.
MARKER_PAIRS: tuple[tuple[str, re.Pattern, re.Pattern], ...] = (
    ("hanweb", re.compile(r"ZJEG_RSS\.content\.begin", re.I), re.compile(r"ZJEG_RSS\.content\.end", re.I)),
    ("enorth", re.compile(r"^\s*enpcontent\s*$", re.I), re.compile(r"^\s*/\s*enpcontent\s*$", re.I)),
    ("hanweb", re.compile(r"<\$\[信息内容\]>\s*begin"), re.compile(r"<\$\[信息内容\]>\s*end")),
    ("generic", re.compile(r"^\s*(?:正文|内容)\s*(?:开始|start|begin)\s*$", re.I),
     re.compile(r"^\s*(?:正文|内容)\s*(?:结束|end)\s*$", re.I)),
)


def _has_class(*names: str):
    wanted = {n.lower() for n in names}
    return lambda el: any(c.lower() in wanted for c in (el.get("class") or "").split())


def _has_id(name: str):
    return lambda el: el.get("id") == name


def _is_tag(name: str):
    return lambda el: el.tag == name


# (family, test) in order of trust. Class tests are whole-word (so "NewsContentList" never matches) and
# TRS class names case-blind (TRS_Editor, TRS_EDITOR, trs_editor all occur).
SELECTORS: tuple[tuple[str, object], ...] = (
    ("ucap", _is_tag("ucapcontent")),
    ("changzhou", _has_id("czfxfontzoom")),
    ("changzhou", lambda el: el.tag == "td" and "GovInfoContent" in (el.get("class") or "").split()),
    ("changzhou", lambda el: "NewsContent" in (el.get("class") or "").split()),
    ("trs", _has_class("TRS_Editor")),
    ("trs", _has_class("TRS_UEDITOR")),
    ("trs", _has_id("UCAP-CONTENT")),
    ("hanweb", _has_id("zoom")),
)
_PROBE_IDS = frozenset(("czfxfontzoom", "UCAP-CONTENT", "zoom"))
_PROBE_CLASS = re.compile(r"Content|TRS_|trs_|Trs_")


def _probe(root) -> list:
    """Every element any test could accept, in document order: one plain pass (an XPath with this many
    predicates is several times slower than walking the tree in Python)."""
    out = []
    for el in root.iter():
        if el.tag == "ucapcontent" or el.get("id") in _PROBE_IDS:
            out.append(el)
            continue
        cls = el.get("class")
        if cls and _PROBE_CLASS.search(cls):
            out.append(el)
    return out


@dataclass
class Candidate:
    family: str
    element: etree._Element


def _wrap_range(begin: etree._Element, end: etree._Element) -> etree._Element | None:
    """Move the nodes between two sibling markers into a new <div> placed at the begin marker."""
    parent = begin.getparent()
    if parent is None:
        return None
    if end.getparent() is not parent:
        # Markers in different elements: the smallest element holding both stands in for the range.
        begin_anc = set(begin.iterancestors())
        for anc in end.iterancestors():
            if anc in begin_anc:
                return anc
        return None
    box = etree.Element("div")
    box.set("data-govnews", "range")
    box.text = begin.tail
    begin.tail = None
    node = begin.getnext()
    while node is not None and node is not end:
        nxt = node.getnext()
        box.append(node)
        node = nxt
    begin.addnext(box)
    return box


def _comment_ranges(root) -> Iterator[Candidate]:
    # Only short comments can be markers (pages carry long commented-out blocks of old markup).
    comments = [c for c in root.iter(etree.Comment) if len(c.text or "") <= 60]
    if not comments:
        return
    for family, begin_rx, end_rx in MARKER_PAIRS:
        begins = [c for c in comments if begin_rx.search(c.text or "")]
        if not begins:
            continue
        ends = [c for c in comments if end_rx.search(c.text or "")]
        for b in begins:
            e = next((e for e in ends if e.getparent() is b.getparent() and _after(e, b)), None)
            if e is None:
                e = next((e for e in ends if _after_doc(e, b, comments)), None)
            if e is not None:
                box = _wrap_range(b, e)
                if box is not None:
                    yield Candidate(family, box)


def _after(e, b) -> bool:
    for sib in b.itersiblings():
        if sib is e:
            return True
    return False


def _after_doc(e, b, comments) -> bool:
    return comments.index(e) > comments.index(b)


def _meta_range(root) -> Iterator[Candidate]:
    # Hanweb also brackets the body with <meta name="ContentStart"> / <meta name="ContentEnd">.
    body = root.find("body")
    if body is None:
        return
    metas = list(body.iter("meta"))
    starts = [m for m in metas if m.get("name") == "ContentStart"]
    ends = [m for m in metas if m.get("name") == "ContentEnd"]
    if starts and ends:
        box = _wrap_range(starts[0], ends[0])
        if box is not None:
            yield Candidate("hanweb", box)


def candidates(root) -> Iterator[Candidate]:
    """Content elements found by CMS markup, most trusted first."""
    yield from _comment_ranges(root)
    yield from _meta_range(root)
    probed = _probe(root)
    for family, test in SELECTORS:
        found = _outermost([el for el in probed if test(el)])
        if len(found) > 1:
            # Several blocks of one kind (a summary box and the article): the one with most text.
            found.sort(key=lambda e: len(string_of(e).strip()), reverse=True)
        for el in found:
            yield Candidate(family, el)


def _outermost(els: list) -> list:
    s = set(els)
    return [e for e in els if not any(a in s for a in e.iterancestors())]
