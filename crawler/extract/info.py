"""The page outside the body as lines (the info line under the headline, the rest before and after),
and the `label：value` pairs read from them, region by region."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from . import dates, fields
from .dom import LINK_MARK, text_lines, text_of

_BODY, _TITLE = "\ue000BODY\ue000", "\ue000TITLE\ue000"
REGIONS = ("header", "before", "top", "after")
_CRUMB_LABEL = re.compile(r"(?:您当前的位置|您现在的位置|当前位置|您的位置|所在位置|当前的位置|位置)\s*[:：]\s*(.+)")
_CRUMB_HINT = re.compile(r"crumb|position|location|dqwz|weizhi|path|bread|nav_?path|current", re.I)


@dataclass
class Labelled:
    """(label, value, region) pairs, header region first when looked up."""

    pairs: list[tuple[str, str, str]]

    def value(self, wanted) -> tuple[str | None, str | None]:
        """(value, region) of the first wanted label, by region order."""
        for region in REGIONS:
            for label, value, r in self.pairs:
                if r == region and label in wanted and value:
                    return value, region
        return None, None

    def date(self, wanted) -> tuple[str | None, str | None]:
        for region in REGIONS:
            for label, value, r in self.pairs:
                if r == region and label in wanted:
                    d = dates.parse_date(value)
                    if d:
                        return d, region
        return None, None


def regions(body_el, content, title_el) -> tuple[list[str], list[str], list[str]]:
    """Lines of the page outside the body: (between title and body, everything before, after the body)."""
    marks = []
    if content is not None:
        marks.append((content, _BODY))
    if title_el is not None and (content is None or content not in title_el.iterancestors()):
        marks.append((title_el, _TITLE))
    saved = []
    for el, token in marks:
        parent = el.getparent()
        if parent is None:
            continue
        stub = etree.Element("p")
        stub.text = token
        stub.tail = el.tail
        el.tail = None
        parent.replace(el, stub)
        saved.append((el, stub))
    lines = []
    for line in text_lines(body_el, mark_links=True, stop_after=(_BODY, 30)):
        # A marker inside a table-row line: split the row around it.
        for piece in re.split(f"({_BODY}|{_TITLE})", line):
            piece = piece.strip()
            if piece:
                lines.append(piece)
    for el, stub in saved:
        el.tail = stub.tail
        stub.getparent().replace(stub, el)
    b = lines.index(_BODY) if _BODY in lines else len(lines)
    t = lines.index(_TITLE) if _TITLE in lines else -1
    before = [x for x in lines[:b] if x != _TITLE]
    after = [x for x in lines[b + 1:] if x != _TITLE]
    header = lines[t + 1:b] if 0 <= t < b else before[-6:]
    return header, before, after


def top_lines(body_lines: list[str], title: str) -> list[str]:
    """The info line some templates print inside the content container: read, but left in the body."""
    from .content import is_meta_line

    top = []
    tkey = re.sub(r"\s+", "", title or "")
    for line in body_lines[:5]:
        if re.sub(r"\s+", "", line) == tkey:
            continue
        if not is_meta_line(line):
            break
        top.append(line)
    return top


def collect(header, before, top, after) -> Labelled:
    out = []
    for region, lines in (("header", header), ("before", before), ("top", top), ("after", after[:25])):
        for line in lines:
            _, pairs = fields.labelled(line.replace(LINK_MARK, ""))
            for label, value in pairs:
                out.append((label, value, region))
    return Labelled(out)


def breadcrumb(body_el, before) -> str | None:
    for line in before:
        line = line.replace(LINK_MARK, "")
        m = _CRUMB_LABEL.search(line)
        if m and (">" in m[1] or "＞" in m[1] or "»" in m[1] or "→" in m[1]):
            return m[1].strip().rstrip(" >＞»→")
    for el in body_el.iter("div", "td", "span", "p", "ul", "nav"):
        name = f"{el.get('class', '')} {el.get('id', '')}"
        if _CRUMB_HINT.search(name):
            t = text_of(el)
            if 2 <= len(t) <= 200 and any(s in t for s in (">", "＞", "»", "→")):
                m = _CRUMB_LABEL.search(t)
                return (m[1] if m else t).strip().rstrip(" >＞»→")
    return None
