"""Structural fallback for pages of no known CMS family: text and punctuation density over the DOM.

Like GNE and readability, paragraphs vote for the element that holds them (their parent fully, the
grandparent half); votes grow with punctuation, links count against, and class/id names that mean
navigation, footers or share bars count against too.
"""

from __future__ import annotations

import math
import re

from .dom import INVISIBLE, collapse, text_content

_PUNCT = re.compile(r"[，。！？；：、“”‘’（）《》,.!?;:]")
_GOOD = re.compile(r"content|article|artic|zhengwen|zw|text|detail|xiangqing|news_?con|con_?text|main|body|"
                   r"zoom|neirong|nr|wenzhang", re.I)
_BAD = re.compile(r"nav|foot|footer|side|sidebar|menu|comment|share|link|list|header|top|copyright|banner|"
                  r"crumb|position|location|related|xgwz|recommend|hot|tool|print|ewm|qrcode|search|login|ad[-_]|"
                  r"pager|page_?num|breadcrumb|dqwz", re.I)
_HOLDERS = frozenset("div td section article main span font p center form li blockquote dd".split())
_PARAS = frozenset("p div td span font li section article blockquote pre h2 h3 h4 h5 h6 center dd".split())


def _own_text(el) -> str:
    parts = [el.text or ""]
    for child in el:
        if child.tag == "br":
            parts.append(" ")
        parts.append(child.tail or "")
    return collapse("".join(parts))


def _weight(el) -> float:
    name = f"{el.get('class', '')} {el.get('id', '')}"
    if not name.strip():
        return 0.0
    w = 0.0
    if _GOOD.search(name):
        w += 25
    if _BAD.search(name):
        w -= 25
    return w


def _link_density(el) -> float:
    total = len(collapse(text_content(el)))
    if not total:
        return 1.0
    links = sum(len(collapse(text_content(a))) for a in el.iter("a"))
    return min(1.0, links / total)


def best_block(body):
    """The element most likely to be the article body, or None when the page has no prose."""
    scores: dict = {}
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag
        if tag in INVISIBLE or tag not in _PARAS:
            continue
        text = _own_text(el)
        if len(text) < 20:
            continue
        # Skip paragraphs that are themselves links (menus, lists of other articles).
        if el.getparent() is not None and el.getparent().tag == "a":
            continue
        score = 1.0 + len(_PUNCT.findall(text)) + min(len(text) / 100.0, 3.0)
        holders = [el] if tag in ("td", "div") and len(text) >= 60 else []
        parent = el.getparent()
        if parent is not None:
            holders.append(parent)
            gp = parent.getparent()
            if gp is not None:
                holders.append(gp)
        for n, h in enumerate(holders):
            if not isinstance(h.tag, str) or h.tag not in _HOLDERS | {"body"}:
                continue
            if h not in scores:
                scores[h] = _weight(h)
            scores[h] += score if n < len(holders) - 1 or len(holders) == 1 else score / 2
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:5]
    best, best_score = None, -math.inf
    for el, s in ranked:
        s *= 1.0 - _link_density(el)
        if s > best_score:
            best, best_score = el, s
    return best
