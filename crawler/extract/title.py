"""The headline as the article shows it.

Evidence, strongest first: a per-site selector; <ucaptitle>; a visible element whose text equals the
CMS's own <meta name="ArticleTitle"> (cross-check: the meta alone is not trusted, a regenerating CMS
may hold an older title); a visible element whose text is the <title> tag or one of its segments
("headline_site name"); the leading lines of the body when the headline is printed only there; the
nearest heading before the body; finally the meta or the <title> tag itself.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

from lxml import etree

from .dom import join_title_lines, string_of, text_lines

_SEPS = re.compile(r"\s*(?:_{1,2}|\||｜|--?|—+|－|::)\s*")
_HINT = re.compile(r"title|tit\b|bt\b|headline|biaoti|ucaptitle|heading|article-?h", re.I)
_HEADINGS = frozenset("h1 h2 h3".split())
_LINK_TEXT = etree.XPath("descendant-or-self::a//text()")
# Date/source lines and widgets are centred too; they are not headlines.
_INFO_LINE = re.compile(r"(?:19|20)\d\d[-/.年]\d|[:：]|来源|浏览|字号|打印|分享")


def _similar(a: str, b: str) -> float:
    if abs(len(a) - len(b)) > 0.2 * max(len(a), len(b)):
        return 0.0
    sm = SequenceMatcher(None, a, b, autojunk=False)
    return sm.ratio() if sm.quick_ratio() >= 0.85 else 0.0


def key(s: str | None) -> str:
    """Comparison key: the text without any whitespace, full-width forms folded (NFKC)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s or ""))


def _inside(el, container) -> bool:
    if container is None:
        return False
    return el is container or any(a is container for a in el.iterancestors())


def _near(body_el, wanted: list[str], content):
    """Elements (and a few of their ancestors) holding text that starts or ends a wanted title."""
    seen: set = set()
    probes = {p for k in wanted for p in (k[:4], k[-4:]) if len(p) >= 2}
    if not probes:
        return
    # One plain pass over text and tails (faster than an XPath text() scan with many contains()).
    found = re.compile("|".join(re.escape(p) for p in sorted(probes))).search
    for node in body_el.iter():
        hits = []
        if node.text and found(node.text):
            hits.append(node)
        if node.tail and found(node.tail):
            hits.append(node.getparent())
        for el in hits:
            for _ in range(4):
                if el is None or el in seen or el.tag in ("body", "html"):
                    break
                seen.add(el)
                yield el
                el = el.getparent()


class _Evidence:
    """What the page says its headline is, outside the headline element: keys to compare text with."""

    def __init__(self, meta: dict, enp: dict, page_title: str) -> None:
        self.meta_title = meta.get("articletitle") or enp.get("title") or meta.get("og:title") \
            or meta.get("title") or ""
        self.page_title = page_title
        self.mkey, self.pkey = key(self.meta_title), key(page_title)
        self.segments = [key(s) for s in _SEPS.split(page_title) if key(s)]
        self.wanted = [k for k in [self.mkey, *self.segments] if k]
        self.longest_seg = max((len(s) for s in self.segments), default=0)
        self.site = key(meta.get("sitename"))
        # The <title> segments that can be the headline (not the short site-name segments).
        self.headline_like = [w for w in [self.mkey, self.pkey, *self.segments]
                              if w and w != self.site and len(w) >= 0.5 * self.longest_seg]
        self.truncated = [w.rstrip(".…") for w in self.headline_like]
        self.refs = _references(meta, enp, page_title)

    def score(self, el, k: str) -> float:
        """How well el's text (key k) matches the evidence; 0 when it does not."""
        mkey, pkey, segments = self.mkey, self.pkey, self.segments
        if mkey and k == mkey:
            return 100.0
        if k == pkey or (k in segments and len(k) >= 0.5 * self.longest_seg and k != self.site):
            return 90.0
        if pkey and k in pkey and len(k) >= 0.5 * self.longest_seg:
            return 50 + 30 * len(k) / max(len(pkey), 1)
        if mkey and k in mkey and len(k) >= 0.6 * len(mkey):
            return 50 + 30 * len(k) / len(mkey)
        if mkey and len(k) >= 4 and mkey.startswith(k) and _completed(el, [mkey]):
            return 75.0  # the start of a headline that markup split; the siblings spell the rest
        if any(len(w) >= 12 and k.startswith(w) and len(k) <= 2 * len(w) for w in self.truncated):
            return 60.0  # the <title> or meta cut the headline short ("…" or a length limit)
        # Near-equal to the meta or <title> headline (a typo fixed on one side, a truncated tag).
        ratio = max((_similar(k, w) for w in self.headline_like), default=0.0)
        return 40 + 20 * ratio if ratio >= 0.85 else 0.0


def _markup_bonus(el, k: str, inside: bool) -> float:
    tag = el.tag
    bonus = 8.0 if tag in ("h1", "h2") else 4.0 if tag in ("h3", "h4", "strong", "b") else 0.0
    if _HINT.search(f"{el.get('class', '')} {el.get('id', '')}"):
        bonus += 5
    parent = el.getparent()
    if tag in ("a", "option", "li", "title") or (parent is not None and parent.tag == "a") \
            or key("".join(_LINK_TEXT(el))) == k:
        bonus -= 30  # a link: this page in a list, a crumb, a share widget, or the site logo
    if inside:
        bonus -= 5  # an equal headline outside the body is the better element
    return bonus


def _best_element(body_el, content, ev: _Evidence, body_lines: list[str]):
    # Inside the body, only a headline that opens it counts (templates that print it in the container).
    openings, acc = set(), ""
    for line in body_lines[:4]:
        acc += key(line)
        openings.add(acc)
    best, best_score = None, 0.0
    for el in _near(body_el, ev.wanted, content):
        if not isinstance(el.tag, str):
            continue
        raw = string_of(el)
        if len(raw) > 300:
            continue
        k = key(raw)
        if len(k) < 4:
            continue
        inside = _inside(el, content)
        if inside and k not in openings:
            continue
        score = ev.score(el, k)
        if not score:
            continue
        score += _markup_bonus(el, k, inside)
        # Equal scores: the innermost element wins (it was seen first) unless an ancestor adds a hint.
        if score > best_score:
            best, best_score = el, score
    return best if best_score >= 50 else None


def _from_body_lines(ev: _Evidence, body_lines: list[str]) -> str | None:
    """The headline printed only inside the body (国务院公报 pages): its leading lines spell the title."""
    want = ev.mkey or (max(ev.segments, key=len) if ev.segments else "")
    if not want or not body_lines:
        return None
    acc = ""
    for i, line in enumerate(body_lines[:5]):
        acc += key(line)
        if acc == want or (len(acc) >= 8 and acc in ev.pkey and len(acc) >= 0.8 * len(want)):
            return join_title_lines(body_lines[: i + 1])
        if not want.startswith(acc) and acc not in ev.pkey:
            break
    return None


def find_title(ctx, content, body_lines: list[str]) -> tuple[object, str, str]:
    """(element or None, title text, evidence) for a page context (crawler/extract/page.py); evidence
    is one of override, ucaptitle, articletitle, title-tag, body, heading, meta, title-tag-only, none."""
    root, body_el = ctx.root, ctx.body_el
    select = ctx.select("title")
    if select is not None:
        t = join_title_lines(text_lines(select))
        if t:
            return select, t, "override"
    for el in root.iter("ucaptitle"):
        t = join_title_lines(text_lines(el))
        if t and not _inside(el, content):
            return el, t, "ucaptitle"
    ev = _Evidence(ctx.meta, ctx.enp, ctx.page_title)
    best = _best_element(body_el, content, ev, body_lines)
    if best is not None:
        origin = "articletitle" if ev.mkey and key(string_of(best)) in ev.mkey else "title-tag"
        return best, _completed(best, ev.refs) or join_title_lines(text_lines(best)), origin
    t = _from_body_lines(ev, body_lines)
    if t:
        return None, t, "body"
    heading = _heading_before(body_el, content)
    if heading is not None:
        return heading, _completed(heading, ev.refs) or join_title_lines(text_lines(heading)), "heading"
    if ev.meta_title:
        return None, ev.meta_title, "meta"
    if ctx.page_title:
        return None, max(_SEPS.split(ctx.page_title), key=len), "title-tag-only"
    return None, "", "none"


_PROSE = re.compile(r"[，。；！？]")


def _references(meta: dict, enp: dict, page_title: str) -> list[str]:
    """Whole headlines the page states outside its markup: ArticleTitle, og:title, the ENP title and
    the <title> cut before each separator (so "headline——subtitle_site" gives the headline whole)."""
    refs = [key(meta.get(k)) for k in ("articletitle", "og:title", "title")] + [key(enp.get("title"))]
    refs += [key(page_title[: m.start()]) for m in _SEPS.finditer(page_title)] + [key(page_title)]
    return [r for r in dict.fromkeys(refs) if r]


def _completed(el, refs: list[str]) -> str | None:
    """A headline that markup split (`<p>main<div>——subtitle</div></p>` parses as two siblings): when
    el's text starts a reference headline and the elements right after it spell the rest, the whole."""
    k = key(string_of(el))
    targets = [r for r in refs if len(r) > len(k) and r.startswith(k)]
    if not k or not targets:
        return None
    lines, acc, node = text_lines(el), k, el
    for _ in range(6):
        piece = key(node.tail)
        sib = node.getnext()
        if sib is None:
            break
        if isinstance(sib.tag, str):
            piece += key(string_of(sib))
        if piece:
            acc += piece
            if not any(t.startswith(acc) for t in targets):
                return None
            if node.tail and node.tail.strip():
                lines.append(node.tail.strip())
            if isinstance(sib.tag, str):
                lines += text_lines(sib)
            if acc in targets:
                return join_title_lines(lines)
        node = sib
    return None


def _heading_before(body_el, stop):
    """The last heading-like element before the article text (h1-h3, a title class, a centred line),
    for pages whose <title> and meta say nothing useful. The article text starts at `stop` or at the
    first paragraph of prose, whichever comes first."""
    last = None
    for el in body_el.iter():
        if el is stop:
            break
        tag = el.tag
        if not isinstance(tag, str):
            continue
        own = el.text or ""
        if len(own) >= 40 and len(_PROSE.findall(own)) >= 2:
            break
        if tag in _HEADINGS or (tag in ("div", "td", "p", "span", "strong", "b", "font") and (
                _HINT.search(el.get("class", "") + " " + el.get("id", ""))
                or (el.get("align") or "").lower() == "center"
                or "center" in (el.get("style") or "").replace(" ", "").lower())):
            text = string_of(el)
            n = len(key(text))
            if 4 <= n <= 120 and el.getparent() is not None and el.getparent().tag != "a" \
                    and not _INFO_LINE.search(text):
                last = el
    return last
