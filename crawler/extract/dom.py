"""HTML parsing, cleaning and the text serialization every extracted field shares.

The serialization follows the gold conventions: one line per block element or <br>, a table row is one
line with its cells joined by one space, whitespace (U+3000 and &nbsp; included) collapsed, empty lines
dropped, invisible elements (inline display:none, script, style) ignored.

Plain lxml.etree (not lxml.html) on purpose: lxml.html looks up a Python element class for every node
it touches, which costs more than the whole extraction on a big page.
"""

from __future__ import annotations

import re

from lxml import etree

BLOCK = frozenset(
    "address article aside blockquote center dd details dir div dl dt fieldset figcaption figure footer "
    "form h1 h2 h3 h4 h5 h6 header hr li main menu nav ol p pre section summary table tbody thead tfoot "
    "ul caption legend tr td th ucapcontent ucaptitle".split()
)
# Elements whose content never shows as page text.
INVISIBLE = frozenset(
    "script style noscript template head title select option button input textarea iframe object embed "
    "svg canvas video audio map link meta base".split()
)
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas")
_STYLED = etree.XPath("//*[@style or @hidden] | //input[@type]")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_WS = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_PARSER = etree.HTMLParser(remove_pis=True, huge_tree=True, no_network=True)
string_of = etree.XPath("string()")
LINK_MARK = "\ue001"


def parse(text: str) -> etree._Element:
    """Parse page text into an lxml tree, tolerating XML declarations and empty or broken input."""
    text = _XML_DECL.sub("", text, count=1)
    root = None
    if text.strip():
        try:
            root = etree.fromstring(text, _PARSER)
        except (etree.ParserError, etree.XMLSyntaxError, ValueError):
            root = None
    if root is None:
        root = etree.fromstring("<html><body></body></html>", _PARSER)
    _merge_trailing_documents(root)
    return root


def _merge_trailing_documents(root) -> None:
    """Fold later top-level <html> elements into the first one's <head>/<body>.

    Server-side includes often carry their own </body></html>; libxml2 then starts a second document
    element after the first, and the article may be in it.
    """
    extra = [s for s in root.itersiblings() if s.tag == "html"]
    if not extra:
        return
    body = root.find("body")
    if body is None:
        body = etree.SubElement(root, "body")
    head = root.find("head")
    for doc in extra:
        for part in list(doc):
            if part.tag == "head" and head is not None:
                for child in list(part):
                    head.append(child)
            elif part.tag == "body":
                if part.text and part.text.strip():
                    body.append(etree.Comment("merged"))
                    body[-1].tail = part.text
                for child in list(part):
                    body.append(child)
            else:
                body.append(part)
        # The emptied top-level element stays (lxml cannot detach a document-level sibling).


def collapse(s: str | None) -> str:
    return _WS.sub(" ", s or "").strip()


def text_content(el) -> str:
    return string_of(el)


def is_hidden(el) -> bool:
    style = el.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    return el.get("hidden") is not None or (el.tag == "input" and (el.get("type") or "").lower() == "hidden")


def drop_tree(el) -> None:
    """Remove el but keep its tail text in place."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _stylesheet_hidden(root) -> list:
    """Elements a page-level <style> hides outright with a plain .class or #id rule (display:none).

    Rules inside @media blocks are skipped: those hide things only on some screens (mobile headers).
    Elderly-friendly and print copies of an article are often hidden this way.
    """
    names: list[str] = []
    for style in root.iter("style"):
        names += hidden_selectors(style.text or "")
    if not names:
        return []
    found = []
    # contains() is a cheap pre-filter in C; the class token is then checked exactly.
    for n in dict.fromkeys(names):
        if n[0] == "#":
            found += root.xpath("//*[@id=$n]", n=n[1:])
        else:
            cls = n[1:]
            found += [el for el in root.xpath("//*[contains(@class, $c)]", c=cls) if cls in el.get("class").split()]
    return found


_SIMPLE_SELECTOR = re.compile(r"[.#][A-Za-z_][\w-]*")


_DECL_BEFORE = re.compile(r"(?:display|visibility)\s*:\s*$")


def _hiding_declarations(css: str):
    """Offsets of display:none / visibility:hidden declarations (plain str.find: pages embed 300 KB
    stylesheets, and a regex scan over all of it costs more than the extraction)."""
    low = css.lower()
    for word in ("none", "hidden"):
        pos = low.find(word)
        while pos >= 0:
            if _DECL_BEFORE.search(low, max(0, pos - 24), pos):
                yield pos
            pos = low.find(word, pos + len(word))


def hidden_selectors(css: str) -> list[str]:
    """Plain .class / #id selectors of top-level CSS rules that hide their elements."""
    out: list[str] = []
    depth, last = 0, 0
    for pos in sorted(_hiding_declarations(css)):
        # Brace depth at pos, counted incrementally: 1 is a top-level rule, deeper is @media/@supports.
        depth += css.count("{", last, pos) - css.count("}", last, pos)
        last = pos
        if depth != 1:
            continue
        open_at = css.rfind("{", 0, pos)
        comment_end = css.rfind("*/", 0, open_at)
        start = max(css.rfind("}", 0, open_at) + 1, css.rfind(";", 0, open_at) + 1,
                    comment_end + 2 if comment_end >= 0 else 0)
        for sel in css[start:open_at].split(","):
            sel = sel.strip()
            if _SIMPLE_SELECTOR.fullmatch(sel):
                out.append(sel)
    return out


def drop_invisible(root) -> None:
    """Remove scripts, styles and hidden elements (inline style, hidden attribute, page stylesheet)."""
    hidden_by_css = _stylesheet_hidden(root) if root.find(".//style") is not None else []
    for el in hidden_by_css:
        if el.tag not in ("html", "body") and el.getparent() is not None:
            drop_tree(el)
    doomed = list(root.iter(*_DROP_TAGS))
    doomed += [el for el in _STYLED(root) if el.tag not in _DROP_TAGS and is_hidden(el)]
    for el in doomed:
        if el.tag not in ("html", "body"):
            drop_tree(el)


class _Lines:
    __slots__ = ("lines", "cur")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.cur: list[str] = []

    def br(self) -> None:
        if self.cur:
            line = collapse("".join(self.cur))
            self.cur.clear()
            if line:
                self.lines.append(line)


_LAYOUT_BLOCKS = ("table", "h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "ul", "ol", "dl", "form")


def _is_layout_row(tr) -> bool:
    """A row whose cells hold whole tables, headings or many blocks is page layout, not a data table:
    its cells read as blocks. (Data-table cells with a paragraph or two stay one line per row.)"""
    cells = [c for c in tr if c.tag in ("td", "th")]
    for cell in cells:
        n = 0
        for d in cell.iter(*_LAYOUT_BLOCKS):
            if d is cell:
                continue
            if d.tag == "table" or d.tag[0] == "h":
                return True
            n += 1
            if n >= 4:
                return True
        # Old table-layout pages: the article is one cell of text broken by <br>.
        breaks = sum(1 for _ in cell.iter("br", "p", "div"))
        if breaks >= 2 and (len(cells) == 1 or len(string_of(cell)) > 300):
            return True
    return False


_CLOSE, _TAIL = 1, 2


def text_lines(el, mark_links: bool = False, stop_after: tuple[str, int] | None = None) -> list[str]:
    """The visible text of el as lines (see module docstring); mark_links puts LINK_MARK in link lines;
    stop_after=(line, n) stops n lines after that line appears (the rest of the page is not needed).

    Iterative (an explicit stack), so that pathologically deep markup cannot exhaust Python's stack."""
    out = _Lines()
    cur = out.cur
    stack: list = [(el, 0)]
    pop, push = stack.pop, stack.append
    marker, keep = stop_after or (None, 0)
    seen_at = -1
    while stack:
        node, state = pop()
        if state == _TAIL:
            cur.append(node)
            continue
        if state == _CLOSE:
            out.br()
            if marker is not None and out.lines:  # checked as blocks close: the marker is a block
                if seen_at < 0:
                    if out.lines[-1] == marker:
                        seen_at = len(out.lines)
                elif len(out.lines) - seen_at > keep:
                    break
            continue
        tag = node.tag
        if not isinstance(tag, str) or tag in INVISIBLE:  # comments: no text of their own
            continue
        if tag == "br":
            out.br()
            continue
        if tag == "tr" and not _is_layout_row(node):
            out.br()
            cells = []
            for cell in node:
                if cell.tag in ("td", "th"):
                    cell_text = " ".join(text_lines(cell, mark_links))
                    if cell_text:
                        cells.append(cell_text)
            cur.append(" ".join(cells))
            out.br()
            continue
        if tag in BLOCK:
            out.br()
            push((None, _CLOSE))
        if mark_links and tag == "a" and node.get("href"):
            cur.append(LINK_MARK)
        if node.text:
            cur.append(node.text)
        for child in reversed(node):
            if child.tail:
                push((child.tail, _TAIL))
            push((child, 0))
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
