"""The article body: where it is (CMS markers, overrides, density), what is cut off it, its files."""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit

from lxml import etree
from lxml.cssselect import CSSSelector

from archive.safety import web_url

from . import density, families, fields
from .dom import collapse, drop_tree, text_content, text_lines, text_of

FILE_EXTS = frozenset(
    "pdf doc docx xls xlsx wps et dps ppt pptx ofd zip rar 7z txt rtf csv tif tiff ceb caj".split()
)
_FILE_TEXT = re.compile(r"\.(?:" + "|".join(sorted(FILE_EXTS)) + r")\s*$", re.I)


def select(root, selector: str | None):
    """The first element a per-site selector (CSS, or XPath starting with "/" or "(") names, or None."""
    if not selector:
        return None
    try:
        if selector.startswith(("/", "(")):
            found = root.xpath(selector)
        else:
            found = CSSSelector(selector)(root)
    except Exception:  # a bad selector in site data must not break the crawl (sites.py validates too)
        return None
    found = [f for f in found if isinstance(f, etree._Element)]
    return found[0] if found else None


def find(root, body_el, override: str | None, blocks) -> tuple[etree._Element | None, str]:
    """(content element, family): a per-site selector, then CMS markup, then the density vote."""
    found = select(root, override)
    if found is not None:
        return found, "override"
    for cand in families.candidates(root):
        if has_content(cand.element):
            return cand.element, cand.family
    # No CMS marks the body: metadata blocks leave the page first, so that their many short lines
    # can neither win the vote nor ride along in the winning block.
    for block, _ in blocks:
        drop_tree(block)
    return density.best_block(body_el), "density"


def drop_blocks_inside(content, blocks) -> None:
    """政府信息公开 metadata never belongs in the body, wherever the template put it."""
    for block, _ in blocks:
        if block is not content and any(a is content for a in block.iterancestors()):
            drop_tree(block)


def has_content(el) -> bool:
    # A family marker around a few characters (an empty template slot) is not the article.
    if len(collapse(text_content(el))) >= 10:
        return True
    return next(el.iter("img"), None) is not None or next(el.iter("a"), None) is not None


def is_meta_line(line: str) -> bool:
    prefix, pairs = fields.labelled(line)
    return bool(pairs) and len(prefix) <= 12 and all(lab in fields.META_LINE_LABELS for lab, _ in pairs)


def peel_meta_lines(content) -> None:
    """Move the date/source/widget lines at the top of a density block out in front of it, so that
    they read as the article's info line, not as body text."""
    for child in list(content):
        if not isinstance(child.tag, str):
            continue
        lines = text_lines(child)
        if not lines:
            continue
        if not all(is_meta_line(x) for x in lines):
            break
        tail, child.tail = child.tail, None
        content.addprevious(child)
        if tail and tail.strip():
            content.text = (content.text or "") + tail


def standalone(el, title: str) -> bool:
    """The headline element is a block of its own (not a bold first line inside a body paragraph)."""
    block = el
    while block.tag in density.INLINE and block.getparent() is not None:
        block = block.getparent()
    return re.sub(r"\s+", "", text_content(block)) == re.sub(r"\s+", "", title)


def trim_density_body(lines: list[str], title: str) -> list[str]:
    """A block found by density may start with the headline and the date/source line: drop those."""
    tkey = re.sub(r"\s+", "", title or "")
    i = 0
    while i < len(lines) and i < 4:
        line = lines[i]
        if tkey and re.sub(r"\s+", "", line) == tkey:
            i += 1
            continue
        if is_meta_line(line):
            i += 1
            continue
        break
    return lines[i:]


def is_file_link(href: str) -> bool:
    parts = urlsplit(href)
    for piece in [parts.path] + re.split(r"[&=]", parts.query):
        piece = unquote(piece).lower().rstrip("/")
        ext = piece.rsplit(".", 1)[-1] if "." in piece.rsplit("/", 1)[-1] else ""
        if ext in FILE_EXTS:
            return True
    return False


def _attachment_scopes(content) -> list:
    scopes = [content]
    # A 附件 block right after the body (outside its container) belongs to the document too.
    node, limit = content, len(text_content(content)) + 3000
    for _ in range(3):
        for sib in node.itersiblings():
            if isinstance(sib.tag, str) and "附件" in (text_content(sib) or "")[:200]:
                scopes.append(sib)
        node = node.getparent()
        if node is None or node.tag == "body" or len(text_content(node)) > limit:
            break
    return scopes


def attachments(url: str, content) -> list[dict]:
    """File links (pdf, doc, xls, wps, ofd, zip …) in the body or its 附件 block, absolute, http(s) only."""
    out, seen = [], set()
    for scope in _attachment_scopes(content):
        for a in scope.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or href.startswith(("javascript:", "#", "mailto:")):
                continue
            link_text = text_of(a)
            if not (is_file_link(href) or _FILE_TEXT.search(link_text)):
                continue
            absolute = web_url(urljoin(url, href))  # http(s) only: a stored link is drawn as a link later
            if absolute is None or absolute in seen:
                continue
            seen.add(absolute)
            out.append({"url": absolute, "text": link_text or collapse(a.get("title"))})
    return out


LAZY_SRC = ("src", "data-src", "data-original", "data-lazy-src", "data-lazy", "lazy-src")


def images(url: str, content) -> list[dict]:
    out = []
    for img in content.iter("img"):
        # src, else a lazy-loading attribute (the src of a lazy image is a data: placeholder or absent)
        src = None
        for attr in LAZY_SRC:
            src = web_url(urljoin(url, (img.get(attr) or "").strip()))
            if src and src != url:
                break
        if not src or src == url:  # no src, or a scheme we never keep (data:, javascript:, …)
            continue
        out.append({"url": src, "alt": collapse(img.get("alt"))})
    return out
