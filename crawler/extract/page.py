"""The article page object: one context built once per page, one small method per field.

    page = ArticlePage.from_bytes(url, body, headers, overrides)
    page.title()        # one field
    page.to_item()      # the whole record (crawler/extract/__init__.py documents it)
    page.provenance     # field -> where its value came from (after to_item)

`PageContext.build` does every step that changes the tree, in the one order they need: decode,
parse, read the meta tags, drop what is not shown, find the 政府信息公开 blocks, find the body (and
cut those blocks out of it), find the headline, read the lines outside the body. The field methods
only read the context, so they can be called in any order, and each says where its value came from:
`override`, `label` (a visible `label：value` line: `label:header`, `label:after` …), `table` (the
metadata block), `meta` (a `<meta>` tag or CMS comment), `url`, `body` (a line the CMS left in it), or
the title's own evidence (`articletitle`, `title-tag`, `heading` …).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from crawler.encoding import decode_html

from . import boilerplate, content, dates, fields, info, meta, quality, xxgk
from .dom import LINK_MARK, collapse, drop_invisible, parse, text_lines, text_of
from .title import find_title

FIELDS = ("url", "title", "published", "source", "author", "body", "breadcrumb", "attachments", "images",
          "written_date", "index_no", "doc_no", "issuer", "topic", "xxgk", "encoding", "family")
_NONE_VALUES = ("无", "-", "/")
_ANY_LABEL = re.compile(r"^[^:：]{1,8}[:：]\s*(.+)$")


@dataclass
class PageContext:
    """Everything the field methods read, computed once per page."""

    url: str
    encoding: str
    root: etree._Element
    body_el: etree._Element
    meta: dict[str, str]
    page_title: str
    enp: dict[str, str]
    overrides: dict
    table: dict[str, str] = field(default_factory=dict)
    content: etree._Element | None = None
    family: str = "density"
    title_el: etree._Element | None = None
    title: str = ""
    title_from: str = ""
    body_lines: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    labels: info.Labelled = field(default_factory=lambda: info.Labelled([]))

    @classmethod
    def build(cls, url: str, body: bytes, headers: Mapping | None = None,
              overrides: dict | None = None) -> PageContext:
        text, encoding = decode_html(body, headers)
        root = parse(text)
        ctx = cls(url=url, encoding=encoding, root=root, body_el=root, meta=meta.read_meta(root),
                  page_title=collapse(root.findtext(".//title") or ""), enp=meta.enp_property(root),
                  overrides=dict(overrides or {}))
        drop_invisible(root)
        body_el = root.find("body")
        ctx.body_el = body_el if body_el is not None else root
        blocks = xxgk.find_blocks(ctx.body_el)
        ctx.table = xxgk.merge(blocks)
        ctx.content, ctx.family = content.find(root, ctx.body_el, ctx.overrides.get("body"), blocks)
        if ctx.content is not None:
            content.drop_blocks_inside(ctx.content, blocks)
        ctx._locate_title_and_body()
        ctx.header, ctx.before, ctx.after = info.regions(ctx.body_el, ctx.content, ctx.title_el)
        top = info.top_lines(ctx.body_lines, ctx.title)
        ctx.labels = info.collect(ctx.header, ctx.before, top, ctx.after)
        return ctx

    def select(self, name: str):
        """The element the site's override selector for `name` picks, or None."""
        return content.select(self.root, self.overrides.get(name))

    def _locate_title_and_body(self) -> None:
        el = self.content
        if el is None:
            self.title_el, self.title, self.title_from = find_title(self, None, [])
            return
        if self.family == "density":
            # No CMS marked the body: the block found by density may start with the headline and its
            # date/source line (and a 索引号 table). The headline is looked for anywhere, and the body is
            # what follows it.
            self.title_el, self.title, self.title_from = find_title(self, None, [])
            if self.title_el is not None and any(a is el for a in self.title_el.iterancestors()) \
                    and content.standalone(self.title_el, self.title):
                el = self.content = content.density.split_after(el, self.title_el)
            content.peel_meta_lines(el)
            lines = boilerplate.clean_lines(text_lines(el))
            self.body_lines = content.trim_density_body(lines, self.title)
            return
        self.body_lines = boilerplate.clean_lines(text_lines(el))
        self.title_el, self.title, self.title_from = find_title(self, el, self.body_lines)


class ArticlePage:
    """One article page; each field is a method reading the shared context."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.provenance: dict[str, str] = {}

    @classmethod
    def from_bytes(cls, url: str, body: bytes, headers: Mapping | None = None,
                   overrides: dict | None = None) -> ArticlePage:
        return cls(PageContext.build(url, body, headers, overrides))

    def to_item(self) -> dict:
        record = {name: getattr(self, name)() for name in FIELDS}
        record["field_sources"] = {k: self.provenance[k] for k in FIELDS if k in self.provenance}
        record["quality_flags"] = quality.flags(self.ctx, record)
        record["content_hash"] = content_hash(record)
        return record

    def _from(self, name: str, value, origin: str | None):
        if value not in (None, "", [], {}) and origin:
            self.provenance[name] = origin
        return value

    # ---------------------------------------------------------------- fields

    def url(self) -> str:
        return self.ctx.url

    def encoding(self) -> str:
        return self.ctx.encoding

    def family(self) -> str:
        return self.ctx.family

    def title(self) -> str:
        return self._from("title", self.ctx.title, self.ctx.title_from)

    def body(self) -> str:
        return self._from("body", "\n".join(self.ctx.body_lines), self.ctx.family)

    def xxgk(self) -> dict[str, str]:
        return self.ctx.table

    def breadcrumb(self) -> str | None:
        return info.breadcrumb(self.ctx.body_el, self.ctx.before)

    def attachments(self) -> list[dict]:
        return content.attachments(self.ctx.url, self.ctx.content) if self.ctx.content is not None else []

    def images(self) -> list[dict]:
        return content.images(self.ctx.url, self.ctx.content) if self.ctx.content is not None else []

    def index_no(self) -> str | None:
        return self._table(("索引号", "信息索引号", "索取号"))

    def doc_no(self) -> str | None:
        v = self._table(("发文字号", "文号", "文件编号", "发布文号"))
        return None if v in _NONE_VALUES else v

    def issuer(self) -> str | None:
        return self._table(("发文机关", "发布机关", "发布机构", "发文单位", "发布单位", "责任部门", "所属机构"))

    def topic(self) -> str | None:
        return self._table(("主题分类", "所属主题", "主题词"))

    def _table(self, keys) -> str | None:
        return first(self.ctx.table, keys) or None

    def written_date(self) -> str | None:
        d = dates.parse_date(first(self.ctx.table, fields.WRITTEN_LABELS))
        if d:
            return self._from("written_date", d, "table")
        d, region = self.ctx.labels.date(fields.WRITTEN_LABELS)
        return self._from("written_date", d, f"label:{region}")

    def author(self) -> str | None:
        labels = self.ctx.labels
        for wanted in (fields.AUTHOR_LABELS, fields.EDITOR_LABELS):
            v, region = labels.value(wanted)
            if v:
                return self._from("author", v, f"label:{region}")
        return self._from("author", self.ctx.meta.get("author") or None, "meta")

    def published(self) -> str | None:
        d, origin = self._displayed_date()
        if d and "T" not in d:
            # The same day shown with its time elsewhere under the headline (a table gives the date only).
            for line in self.ctx.header:
                for f in dates.find_dates(line.replace(LINK_MARK, "")):
                    if f.time and f.day.isoformat() == d and LINK_MARK not in line:
                        return self._from("published", f.iso(), origin)
        if d:
            return self._from("published", d, origin)
        d, origin = meta.published(self.ctx.meta, self.ctx.enp, self.ctx.url)
        return self._from("published", d, origin)

    def _displayed_date(self) -> tuple[str | None, str | None]:
        el = self.ctx.select("date")
        if el is not None:
            d = dates.parse_date(text_of(el))
            if d:
                return d, "override"
        d, region = self.ctx.labels.date(fields.PUBLISHED_LABELS)
        if d:
            return d, f"label:{region}"
        # 开普云 prints the date in its own <publishtime> element, sometimes without a label.
        for el in self.ctx.root.iter("publishtime"):
            d = dates.parse_date(text_of(el))
            if d:
                return d, "label:publishtime"
        d = dates.parse_date(first(self.ctx.table, fields.TABLE_PUBLISHED_LABELS))
        if d:
            return d, "table"
        # An unlabelled date between the title and the body ("国务院新闻办公室网站 2019-04-12 来源：…").
        for line in self.ctx.header:
            if LINK_MARK in line:  # a list of related articles with their dates
                continue
            prefix, _ = fields.labelled(line)
            d = dates.parse_date(prefix)
            if d:
                return d, "label:header"
        return None, None

    def source(self) -> str | None:
        ctx = self.ctx
        el = ctx.select("source")
        if el is not None:
            t = text_of(el)
            # "来源：X" / "供稿单位：X": whatever the label, the value is what follows it.
            m = _ANY_LABEL.match(t)
            return self._from("source", (m[1] if m else t).strip() or None, "override")
        v, region = ctx.labels.value(fields.SOURCE_LABELS + ("稿源",))
        if v:
            return self._from("source", v, f"label:{region}")
        v = first(ctx.table, ("信息来源", "来源", "发布机构", "发文机关", "发布机关", "发文单位", "发布单位", "责任部门",
                              "所属机构"))
        if v:
            return self._from("source", v, "table")
        # 政府信息公开 info lines that are not a full table: 发布机构 / 发文机关 stand in for 来源.
        v, region = ctx.labels.value(("发布机构", "发文机关", "发布机关", "发文单位", "发布单位", "发布部门"))
        if v:
            return self._from("source", v, f"label:{region}")
        v = ctx.meta.get("contentsource") or ctx.enp.get("sourcename")
        if v and v != ctx.meta.get("sitename"):
            return self._from("source", v, "meta")
        # Last resort: a "（来源：…）" line the CMS left inside the body itself.
        lines = ctx.body_lines
        for line in lines[:3] + lines[-3:]:
            _, pairs = fields.labelled(line.strip("（）()【】[] "))
            if len(pairs) == 1 and pairs[0][0] in fields.SOURCE_LABELS and 0 < len(pairs[0][1]) <= 30:
                return self._from("source", pairs[0][1], "body")
        return None


def first(d: Mapping, keys) -> str | None:
    for k in keys:
        v = d.get(k)
        if v:
            return v
    return None


def content_hash(record: Mapping) -> str:
    """sha256 over the normalized title, published, body and attachment URLs: changes when the article does."""
    import hashlib

    parts = [collapse(record.get("title")), record.get("published") or "", collapse(record.get("body"))]
    parts += sorted(a["url"] for a in record.get("attachments") or [])
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
