"""HTML parsing, cleaning and the text serialization every extracted field shares.

The serialization follows the gold conventions: one line per block element or <br>, a table row is one
line with its cells joined by one space, whitespace (U+3000 and &nbsp; included) collapsed, empty lines
dropped, invisible elements (inline display:none, script, style) ignored.
"""

from __future__ import annotations

import re

from lxml import etree, html

BLOCK = frozenset(
    "address article aside blockquote center dd details dir div dl dt fieldset figcaption figure footer "
    "form h1 h2 h3 h4 h5 h6 header hr li main menu nav ol p pre section summary table tbody thead tfoot "
    "ul caption legend tr ucapcontent ucaptitle".split()
)
# Elements whose content never shows as page text.
INVISIBLE = frozenset(
    "script style noscript template head title select option button input textarea iframe object embed "
    "svg canvas video audio map link meta base".split()
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_WS = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


def parse(text: str) -> html.HtmlElement:
    """Parse page text into an lxml tree, tolerating XML declarations and empty or broken input."""
    text = _XML_DECL.sub("", text, count=1)
    if not text.strip():
        text = "<html><body></body></html>"
    try:
        return html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return html.document_fromstring("<html><body></body></html>")


def collapse(s: str | None) -> str:
    return _WS.sub(" ", s or "").strip()


def is_hidden(el: etree._Element) -> bool:
    style = el.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    return el.get("hidden") is not None or (el.tag == "input" and el.get("type", "").lower() == "hidden")


def is_element(node) -> bool:
    return isinstance(node.tag, str)


def drop_invisible(root: html.HtmlElement) -> None:
    """Remove scripts, styles and inline-hidden elements (keeping their tail text)."""
    doomed = []
    for el in root.iter():
        if not is_element(el):
            continue
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag in ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas"):
            doomed.append(el)
        elif tag not in ("html", "body") and is_hidden(el):
            doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.cur: list[str] = []

    def add(self, s: str | None) -> None:
        if s:
            self.cur.append(s)

    def br(self) -> None:
        line = collapse("".join(self.cur))
        if line:
            self.lines.append(line)
        self.cur = []


LINK_MARK = "\ue001"


def _walk(el, out: _Lines, mark_links: bool = False) -> None:
    tag = el.tag.lower() if isinstance(el.tag, str) else None
    if tag is None:  # comment or processing instruction: no text of its own
        return
    if tag in INVISIBLE or is_hidden(el):
        return
    if tag == "br":
        out.br()
        return
    if tag == "tr" and not _is_layout_row(el):
        out.br()
        cells = []
        for cell in el:
            if isinstance(cell.tag, str) and cell.tag.lower() in ("td", "th") and not is_hidden(cell):
                cell_text = " ".join(text_lines(cell, mark_links))
                if cell_text:
                    cells.append(cell_text)
        out.add(" ".join(cells))
        out.br()
        return
    if tag in ("td", "th") and el.getparent() is not None and _is_layout_row(el.getparent()):
        tag = "div"  # a page-layout cell reads like any block
    block = tag in BLOCK
    if block:
        out.br()
    if mark_links and tag == "a" and el.get("href"):
        out.add(LINK_MARK)
    out.add(el.text)
    for child in el:
        _walk(child, out, mark_links)
        if child.tail:
            out.add(child.tail)
    if block:
        out.br()


def _is_layout_row(tr) -> bool:
    """A row whose cells hold whole tables is page layout, not a data table: its cells are blocks."""
    for cell in tr:
        if isinstance(cell.tag, str) and cell.tag.lower() in ("td", "th"):
            if next(cell.iter("table"), None) is not None:
                return True
    return False


def text_lines(el, mark_links: bool = False) -> list[str]:
    """The visible text of el as lines (see module docstring); mark_links puts LINK_MARK in link lines."""
    out = _Lines()
    _walk(el, out, mark_links)
    out.br()
    return out.lines


def text_of(el) -> str:
    """Visible text of el on one line (lines joined by one space)."""
    return " ".join(text_lines(el))


def join_title_lines(lines: list[str]) -> str:
    """Join a title broken over lines: no separator between CJK characters, one space otherwise."""
    out = ""
    for line in lines:
        if out and not (_is_cjk(out[-1]) or _is_cjk(line[0])):
            out += " "
        out += line
    return out


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\uffef" or "\u3000" <= ch <= "\u303f"


def iter_text_chunks(el):
    """(text, element) for each non-empty visible text node under el, in document order."""
    stack = [(el, False)]
    # Iterative to survive very deep broken markup.
    while stack:
        node, tail_only = stack.pop()
        if tail_only:
            t = collapse(node.tail)
            if t:
                yield t, node.getparent()
            continue
        if not isinstance(node.tag, str):
            continue
        if node.tag.lower() in INVISIBLE or is_hidden(node):
            continue
        t = collapse(node.text)
        if t:
            yield t, node
        for child in reversed(list(node)):
            stack.append((child, True))
            stack.append((child, False))
