"""Structural fallback for pages of no known CMS family: text and punctuation density over the DOM.

Like GNE and readability, paragraphs vote for the element that holds them (their parent fully, the
grandparent half); votes grow with punctuation, links count against, and class/id names that mean
navigation, footers or share bars count against too.
"""

from __future__ import annotations

import math
import re

from lxml import etree

from .dom import INVISIBLE, collapse, text_content

# Prose punctuation: label lines ("地址:") and footers ("|") use colons and bars, sentences do not.
_PUNCT = re.compile(r"[，。！？；、“”‘’《》,.!?;]")
_FOOTERISH = re.compile(r"ICP备|公网安备|网站标识码|版权所有|主办单位|承办单位|技术支持|Copyright|©", re.I)
_GOOD = re.compile(r"content|article|artic|zhengwen|zw|text|txt|detail|xiangqing|news_?con|con_?text|"
                   r"zoom|neirong|wenzhang", re.I)
_BAD = re.compile(r"nav|foot|footer|side|sidebar|menu|comment|share|link|list|header|top|copyright|banner|"
                  r"crumb|position|location|related|xgwz|recommend|hot|tool|print|ewm|qrcode|search|login|ad[-_]|"
                  r"pager|page_?num|breadcrumb|dqwz", re.I)
_TABLE_PARTS = frozenset(("tr", "tbody", "thead", "tfoot", "table"))
_PARA_LIKE = frozenset(("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"))
INLINE = frozenset("span font strong b em i u a small big sub sup label abbr code".split())


def _own_text(el) -> str:
    parts = [el.text or ""]
    for child in el:
        if child.tag == "br":
            parts.append(" ")
        parts.append(child.tail or "")
    return collapse("".join(parts))


def _factor(el) -> float:
    """Class and id names: content-like names help, navigation/footer-like names hurt."""
    name = f"{el.get('class', '')} {el.get('id', '')}"
    if not name.strip():
        return 1.0
    f = 1.0
    if _GOOD.search(name):
        f *= 1.3
    if _BAD.search(name):
        f *= 0.5
    return f


def _container(el):
    # Votes skip table plumbing: a data table's rows vote for whatever holds the table.
    while el is not None and el.tag in _TABLE_PARTS:
        el = el.getparent()
    return el


_LINK_TEXT = etree.XPath(".//a//text()")


def _link_density(el) -> float:
    total = len(collapse(text_content(el)))
    if not total:
        return 1.0
    links = len(collapse(" ".join(_LINK_TEXT(el))))
    return min(1.0, links / total)


INLINE = frozenset("span font strong b em i u a small big sub sup label abbr code".split())


def best_block(body):
    """The element most likely to be the article body, or None when the page has no prose."""
    scores: dict = {}

    def vote(el, amount: float) -> None:
        if el is None or not isinstance(el.tag, str) or el.tag in INLINE or el.tag == "html":
            return
        scores[el] = scores.get(el, 0.0) + amount

    # Elements holding some text of their own (most elements hold none), in document order.
    owners: dict = {}
    for node in body.iter():
        if node.text and len(node.text.strip()) >= 4:
            owners[node] = None
        if node.tail and len(node.tail.strip()) >= 4:
            parent = node.getparent()
            if parent is not None:
                owners[parent] = None
    for el in owners:
        tag = el.tag
        if not isinstance(tag, str) or tag in INVISIBLE or tag == "a":
            continue
        text = _own_text(el)
        n = len(text)
        if n < 8 or _FOOTERISH.search(text):
            continue
        block = el
        while block.tag in INLINE and block.getparent() is not None:
            block = block.getparent()
        if block.tag == "a" or any(a.tag == "a" for a in el.iterancestors()):
            continue  # link text: menus and lists of other articles
        score = 1.0 + len(_PUNCT.findall(text)) + min(n / 50.0, 4.0) if n >= 20 else n / 20.0
        if block.tag not in _PARA_LIKE:
            vote(block, score)  # text straight in a container (<td>text<br>text</td>)
        parent = _container(block.getparent())
        vote(parent, score)
        if parent is not None:
            vote(_container(parent.getparent()), score / 2)
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda kv: kv[1] * _factor(kv[0]), reverse=True)[:6]
    best, best_score = None, -math.inf
    for el, s in ranked:
        s *= _factor(el) * (1.0 - _link_density(el))
        if s > best_score:
            best, best_score = el, s
    return best


def split_after(block, marker):
    """Move everything in block that follows marker (in document order) into a new <div> placed right
    after block, and return it. Used to cut a headline and its info line off a density block."""
    box = etree.Element("div")
    box.set("data-govnews", "after-title")
    parts = []
    node = marker
    while node is not None and node is not block:
        parent = node.getparent()
        if node.tail and node.tail.strip():
            parts.append(node.tail)
            node.tail = None
        else:
            parts.append(None)
        parts.append(list(node.itersiblings()))
        node = parent
    # parts alternate: tail text after a node, then that node's following siblings (deepest level first).
    for item in parts:
        if item is None:
            continue
        if isinstance(item, str):
            if len(box):
                box[-1].tail = (box[-1].tail or "") + item
            else:
                box.text = (box.text or "") + item
            continue
        for sib in item:
            box.append(sib)
    block.addnext(box)
    return box
