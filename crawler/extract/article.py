"""extract_article: one article page (bytes) to one normalized record. Pure; no Scrapy."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from urllib.parse import unquote, urljoin, urlsplit

from lxml import etree
from lxml.cssselect import CSSSelector

from archive.safety import web_url
from crawler.encoding import decode_html

from . import boilerplate, dates, density, families, fields, xxgk
from .dom import (
    LINK_MARK,
    collapse,
    drop_invisible,
    drop_tree,
    parse,
    text_content,
    text_lines,
    text_of,
)
from .title import find_title

FILE_EXTS = frozenset(
    "pdf doc docx xls xlsx wps et dps ppt pptx ofd zip rar 7z txt rtf csv tif tiff ceb caj".split()
)
_FILE_TEXT = re.compile(r"\.(?:" + "|".join(sorted(FILE_EXTS)) + r")\s*$", re.I)
_CRUMB_LABEL = re.compile(r"(?:您当前的位置|您现在的位置|当前位置|您的位置|所在位置|当前的位置|位置)\s*[:：]\s*(.+)")
_CRUMB_HINT = re.compile(r"crumb|position|location|dqwz|weizhi|path|bread|nav_?path|current", re.I)
_META_PUBLISHED = ("pubdate", "publishdate", "firstpublishedtime", "article:published_time", "publishtime",
                   "publish_time", "published", "published_time", "releasedate", "releasetime", "dcterms.issued",
                   "dc.date.issued", "dc.date", "og:release_date")


def extract_article(url: str, body: bytes, headers: Mapping | None = None,
                    overrides: dict | None = None) -> dict:
    """Extract the article record from page bytes. See the module contract in crawler/extract/__init__.py."""
    text, encoding = decode_html(body, headers)
    root = parse(text)
    overrides = overrides or {}
    meta = _read_meta(root)
    page_title = collapse(root.findtext(".//title") or "")
    enp = _enp_property(root)
    drop_invisible(root)
    body_el = root.find("body")
    if body_el is None:
        body_el = root

    blocks = xxgk.find_blocks(body_el)
    content, family = _find_content(root, body_el, overrides, blocks)
    # 政府信息公开 metadata never belongs in the body, wherever the template put it.
    if content is not None:
        for block, _ in blocks:
            if block is not content and any(a is content for a in block.iterancestors()):
                drop_tree(block)
    title_sel = _select(root, overrides["title"]) if overrides.get("title") else None
    if family == "density" and content is not None:
        # No CMS marked the body: the block found by density may start with the headline and its
        # date/source line (and a 索引号 table). The headline is looked for anywhere, and the body is
        # what follows it.
        title_el, title = find_title(root, body_el, None, meta, page_title, [], enp, title_sel)
        if title_el is not None and any(a is content for a in title_el.iterancestors()) \
                and _standalone(title_el, title):
            content = density.split_after(content, title_el)
        _peel_meta_lines(content)
    body_lines = boilerplate.clean_lines(text_lines(content)) if content is not None else []
    if family == "density" and content is not None:
        body_lines = _trim_density_body(body_lines, title)
    else:
        title_el, title = find_title(root, body_el, content, meta, page_title, body_lines, enp, title_sel)
    attachments = _attachments(url, content, root) if content is not None else []
    images = _images(url, content) if content is not None else []

    xxgk_table = xxgk.merge(blocks)
    header, before, after = _regions(body_el, content, title_el)
    # The info line some templates print inside the content container: read, but left in the body.
    top = []
    tkey = re.sub(r"\s+", "", title or "")
    for line in body_lines[:5]:
        if re.sub(r"\s+", "", line) == tkey:
            continue
        if not _is_meta_line(line):
            break
        top.append(line)
    labels = _collect_labels(header, before, top, after)

    published = _published(root, overrides, labels, header, xxgk_table, meta, enp, url)
    written = dates.parse_date(_first(xxgk_table, fields.WRITTEN_LABELS)) or _label_date(labels, fields.WRITTEN_LABELS)
    source = _source(root, overrides, labels, xxgk_table, meta, enp, body_lines)
    author = _label_value(labels, fields.AUTHOR_LABELS) or _label_value(labels, fields.EDITOR_LABELS) or \
        (meta.get("author") or None)
    breadcrumb = _breadcrumb(body_el, before)

    body_text = "\n".join(body_lines)
    record = {
        "url": url,
        "title": title,
        "published": published,
        "source": source,
        "author": author,
        "body": body_text,
        "breadcrumb": breadcrumb,
        "attachments": attachments,
        "images": images,
        "written_date": written,
        "index_no": _first(xxgk_table, ("索引号", "信息索引号")) or None,
        "doc_no": _first(xxgk_table, ("发文字号", "文号", "文件编号")) or None,
        "issuer": _first(xxgk_table, ("发文机关", "发布机构", "发文单位", "责任部门", "所属机构")) or None,
        "topic": _first(xxgk_table, ("主题分类", "主题词")) or None,
        "xxgk": xxgk_table,
        "encoding": encoding,
        "family": family,
    }
    if record["doc_no"] in ("无", "-", "/"):
        record["doc_no"] = None
    record["content_hash"] = content_hash(record)
    return record


def content_hash(record: Mapping) -> str:
    """sha256 over the normalized title, published, body and attachment URLs: changes when the article does."""
    parts = [collapse(record.get("title")), record.get("published") or "", collapse(record.get("body"))]
    parts += sorted(a["url"] for a in record.get("attachments") or [])
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ metadata


def _read_meta(root) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in root.iter("meta"):
        key = (m.get("name") or m.get("property") or m.get("itemprop") or "").strip().lower()
        val = collapse(m.get("content"))
        if key and val and key not in out:
            out[key] = val
    return out


_ENP = re.compile(r"<(\w+)>(.*?)</\1>", re.S)


def _enp_property(root) -> dict[str, str]:
    """Enorth ENP's <!--enpproperty <date>…</date><title>…</title>…--> comment."""
    for c in root.iter(etree.Comment):
        t = c.text or ""
        if t.lstrip().startswith("enpproperty"):
            return {k.lower(): collapse(v) for k, v in _ENP.findall(t)}
    return {}


def _first(d: Mapping, keys) -> str | None:
    for k in keys:
        v = d.get(k)
        if v:
            return v
    return None


# ------------------------------------------------------------------ content


def _find_content(root, body_el, overrides, blocks) -> tuple[etree._Element | None, str]:
    sel = overrides.get("body")
    if sel:
        found = _select(root, sel)
        if found is not None:
            return found, "override"
    for cand in families.candidates(root):
        el = cand.element
        if _has_content(el):
            return el, cand.family
    # No CMS marks the body: metadata blocks leave the page first, so that their many short lines
    # can neither win the vote nor ride along in the winning block.
    for block, _ in blocks:
        drop_tree(block)
    el = density.best_block(body_el)
    return el, "density"


def _is_meta_line(line: str) -> bool:
    prefix, pairs = fields.labelled(line)
    return bool(pairs) and len(prefix) <= 12 and all(lab in fields.META_LINE_LABELS for lab, _ in pairs)


def _peel_meta_lines(content) -> None:
    """Move the date/source/widget lines at the top of a density block out in front of it, so that
    they read as the article's info line, not as body text."""
    for child in list(content):
        if not isinstance(child.tag, str):
            continue
        lines = text_lines(child)
        if not lines:
            continue
        if not all(_is_meta_line(x) for x in lines):
            break
        tail, child.tail = child.tail, None
        content.addprevious(child)
        if tail and tail.strip():
            content.text = (content.text or "") + tail


def _standalone(el, title: str) -> bool:
    """The headline element is a block of its own (not a bold first line inside a body paragraph)."""
    block = el
    while block.tag in density.INLINE and block.getparent() is not None:
        block = block.getparent()
    return re.sub(r"\s+", "", text_content(block)) == re.sub(r"\s+", "", title)


def _has_content(el) -> bool:
    # A family marker around a few characters (an empty template slot) is not the article.
    if len(collapse(text_content(el))) >= 10:
        return True
    return next(el.iter("img"), None) is not None or next(el.iter("a"), None) is not None


def _select(root, selector: str):
    try:
        if selector.startswith(("/", "(")):
            found = root.xpath(selector)
        else:
            found = CSSSelector(selector)(root)
    except Exception:  # a bad selector in site data must not break the crawl
        return None
    return found[0] if found else None


def _trim_density_body(lines: list[str], title: str) -> list[str]:
    """A block found by density may start with the headline and the date/source line: drop those."""
    tkey = re.sub(r"\s+", "", title or "")
    i = 0
    while i < len(lines) and i < 4:
        line = lines[i]
        if tkey and re.sub(r"\s+", "", line) == tkey:
            i += 1
            continue
        if _is_meta_line(line):
            i += 1
            continue
        break
    return lines[i:]


def _is_file_link(href: str) -> bool:
    parts = urlsplit(href)
    for piece in [parts.path] + re.split(r"[&=]", parts.query):
        piece = unquote(piece).lower().rstrip("/")
        ext = piece.rsplit(".", 1)[-1] if "." in piece.rsplit("/", 1)[-1] else ""
        if ext in FILE_EXTS:
            return True
    return False


def _attachments(url: str, content, root) -> list[dict]:
    out, seen = [], set()
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
    for scope in scopes:
        for a in scope.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or href.startswith(("javascript:", "#", "mailto:")):
                continue
            link_text = text_of(a)
            if not (_is_file_link(href) or _FILE_TEXT.search(link_text)):
                continue
            absolute = web_url(urljoin(url, href))  # http(s) only: a stored link is drawn as a link later
            if absolute is None or absolute in seen:
                continue
            seen.add(absolute)
            out.append({"url": absolute, "text": link_text or collapse(a.get("title"))})
    return out


def _images(url: str, content) -> list[dict]:
    out = []
    for img in content.iter("img"):
        src = web_url(urljoin(url, (img.get("src") or "").strip()))
        if not src or src == url:  # no src, or a scheme we never keep (data:, javascript:, …)
            continue
        out.append({"url": src, "alt": collapse(img.get("alt"))})
    return out


# ------------------------------------------------------------------ labelled fields


def _regions(body_el, content, title_el):
    """Lines of the page outside the body: (between title and body, everything before, after the body)."""
    marks = []
    if content is not None:
        marks.append((content, "\ue000BODY\ue000"))
    if title_el is not None and (content is None or content not in title_el.iterancestors()):
        marks.append((title_el, "\ue000TITLE\ue000"))
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
    for line in text_lines(body_el, mark_links=True, stop_after=("\ue000BODY\ue000", 30)):
        # A marker inside a table-row line: split the row around it.
        for piece in re.split("(\ue000BODY\ue000|\ue000TITLE\ue000)", line):
            piece = piece.strip()
            if piece:
                lines.append(piece)
    for el, stub in saved:
        el.tail = stub.tail
        stub.getparent().replace(stub, el)
    try:
        b = lines.index("\ue000BODY\ue000")
    except ValueError:
        b = len(lines)
    try:
        t = lines.index("\ue000TITLE\ue000")
    except ValueError:
        t = -1
    before = [x for x in lines[:b] if x != "\ue000TITLE\ue000"]
    after = [x for x in lines[b + 1:] if x != "\ue000TITLE\ue000"]
    if 0 <= t < b:
        header = lines[t + 1:b]
    else:
        header = before[-6:]
    return header, before, after


_REGIONS = ("header", "before", "top", "after")


def _collect_labels(header, before, top, after):
    """(label, value, region) triples, header region first."""
    out = []
    for region, lines in (("header", header), ("before", before), ("top", top), ("after", after[:25])):
        for line in lines:
            prefix, pairs = fields.labelled(line.replace(LINK_MARK, ""))
            for label, value in pairs:
                out.append((label, value, region))
    return out


def _label_value(labels, wanted) -> str | None:
    for region in _REGIONS:
        for label, value, r in labels:
            if r == region and label in wanted and value:
                return value
    return None


def _label_date(labels, wanted) -> str | None:
    for region in _REGIONS:
        for label, value, r in labels:
            if r == region and label in wanted:
                d = dates.parse_date(value)
                if d:
                    return d
    return None


def _published(root, overrides, labels, header, xxgk, meta, enp, url) -> str | None:
    d = _displayed_date(root, overrides, labels, header, xxgk)
    if d and "T" not in d:
        # The same day shown with its time elsewhere under the headline (a table gives the date only).
        for line in header:
            for f in dates.find_dates(line.replace(LINK_MARK, "")):
                if f.time and f.day.isoformat() == d and LINK_MARK not in line:
                    return f.iso()
    if d:
        return d
    # Nothing shown: the CMS's own publication metadata (date part: the time there is often a stamp) ...
    stamp = _generation_stamp(meta)
    from_url = dates.date_from_url(url)
    for key in _META_PUBLISHED:
        f = dates.first_date(meta.get(key))
        if f:
            # ... unless it is merely when a regenerating CMS last wrote the page (页面生成时间), and the
            # URL keeps the original date.
            if stamp and from_url and (f.day, (f.time or "")[:5]) == (stamp.day, (stamp.time or "")[:5]) \
                    and from_url != f.day.isoformat():
                return from_url
            return f.day.isoformat()
    f = dates.first_date(enp.get("date"))
    if f:
        return f.day.isoformat()
    return from_url


def _generation_stamp(meta: Mapping):
    """When the CMS generated this copy of the page, if it says so (页面生成时间 / Maketime)."""
    others = meta.get("others") or ""
    if "生成" in others:
        return dates.first_date(others)
    return dates.first_date(meta.get("maketime"))


def _displayed_date(root, overrides, labels, header, xxgk) -> str | None:
    sel = overrides.get("date")
    if sel:
        el = _select(root, sel)
        if el is not None:
            d = dates.parse_date(text_of(el))
            if d:
                return d
    d = _label_date(labels, fields.PUBLISHED_LABELS)
    if d:
        return d
    # 开普云 prints the date in its own <publishtime> element, sometimes without a label.
    for el in root.iter("publishtime"):
        d = dates.parse_date(text_of(el))
        if d:
            return d
    d = dates.parse_date(_first(xxgk, fields.TABLE_PUBLISHED_LABELS))
    if d:
        return d
    # An unlabelled date between the title and the body ("国务院新闻办公室网站 2019-04-12 来源：…").
    for line in header:
        if LINK_MARK in line:  # a list of related articles with their dates
            continue
        prefix, pairs = fields.labelled(line)
        d = dates.parse_date(prefix)
        if d:
            return d
    return None


def _source(root, overrides, labels, xxgk, meta, enp, body_lines) -> str | None:
    sel = overrides.get("source")
    if sel:
        el = _select(root, sel)
        if el is not None:
            t = text_of(el)
            # "来源：X" / "供稿单位：X": whatever the label, the value is what follows it.
            m = re.match(r"^[^:：]{1,8}[:：]\s*(.+)$", t)
            return (m[1] if m else t).strip() or None
    v = _label_value(labels, fields.SOURCE_LABELS + ("稿源",))
    if v:
        return v
    v = _first(xxgk, ("信息来源", "来源", "发布机构", "发文机关", "发文单位", "责任部门", "所属机构"))
    if v:
        return v
    # 政府信息公开 info lines that are not a full table: 发布机构 / 发文机关 stand in for 来源.
    v = _label_value(labels, ("发布机构", "发文机关", "发文单位", "发布单位", "发布部门"))
    if v:
        return v
    v = meta.get("contentsource") or enp.get("sourcename")
    if v and v != meta.get("sitename"):
        return v
    # Last resort: a "（来源：…）" line the CMS left inside the body itself.
    for line in body_lines[:3] + body_lines[-3:]:
        _, pairs = fields.labelled(line.strip("（）()【】[] "))
        if len(pairs) == 1 and pairs[0][0] in fields.SOURCE_LABELS and 0 < len(pairs[0][1]) <= 30:
            return pairs[0][1]
    return None


def _breadcrumb(body_el, before) -> str | None:
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
