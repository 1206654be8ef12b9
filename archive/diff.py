"""What changed between two versions of an article: paragraphs, characters, fields and attachments.

Bodies are compared paragraph by paragraph (one per line, as stored) with difflib; inside a changed
paragraph, character by character (Chinese has no spaces between words, so a word-level diff would mark
the whole sentence). Fields (title, dates, source, every 政府信息公开 field such as 有效性) and
attachments (added, removed, or replaced: the same link text pointing at another file) are listed apart.

Pure functions over version rows (dicts as stored in article_versions): no HTML here; the templates
escape every piece of text they draw.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

# Paragraphs more alike than this are one paragraph edited; below it, one removed and another added.
SAME_PARAGRAPH_RATIO = 0.3
FIELDS = (("title", "Title 标题"), ("published", "Published 发布日期"), ("source", "Source 来源"),
          ("author", "Author 作者"))
# Used only when a version predates the xxgk column (its table unknown): the fields read from it.
XXGK_COLUMNS = (("written_date", "成文日期"), ("index_no", "索引号"), ("doc_no", "发文字号"), ("issuer", "发文机关"),
                ("topic", "主题分类"))


@dataclass
class Segment:
    op: str  # "equal", "delete" or "insert"
    text: str


@dataclass
class Paragraph:
    kind: str  # "same", "added", "removed" or "changed"
    old: str | None
    new: str | None
    segments: list[Segment] = field(default_factory=list)  # for "changed": the character-level edit


@dataclass
class Collapsed:
    """Unchanged paragraphs left out of a diff view."""
    count: int
    kind: str = "collapsed"


@dataclass
class FieldChange:
    name: str
    label: str
    old: str | None
    new: str | None


@dataclass
class AttachmentChange:
    kind: str  # "added", "removed" or "replaced"
    text: str | None
    old_url: str | None
    new_url: str | None


@dataclass
class DiffSummary:
    paragraphs_added: int = 0
    paragraphs_removed: int = 0
    paragraphs_changed: int = 0
    chars_added: int = 0
    chars_removed: int = 0
    fields_changed: int = 0
    attachments_changed: int = 0

    @property
    def size(self) -> int:
        """One number for 'how big a change': characters added + removed, plus one per field/attachment."""
        return self.chars_added + self.chars_removed + self.fields_changed + self.attachments_changed

    def __str__(self) -> str:
        parts = []
        if self.paragraphs_added or self.paragraphs_removed or self.paragraphs_changed:
            parts.append(f"paragraphs +{self.paragraphs_added} −{self.paragraphs_removed} ~{self.paragraphs_changed}")
        if self.chars_added or self.chars_removed:
            parts.append(f"characters +{self.chars_added} −{self.chars_removed}")
        if self.fields_changed:
            parts.append(f"{self.fields_changed} field{'s' if self.fields_changed > 1 else ''}")
        if self.attachments_changed:
            parts.append(f"{self.attachments_changed} attachment{'s' if self.attachments_changed > 1 else ''}")
        return ", ".join(parts) or "no change"


@dataclass
class VersionDiff:
    paragraphs: list[Paragraph]
    fields: list[FieldChange]
    attachments: list[AttachmentChange]
    summary: DiffSummary

    @property
    def changed(self) -> bool:
        return bool(self.fields or self.attachments or any(p.kind != "same" for p in self.paragraphs))

    def blocks(self, context: int = 1) -> list[Paragraph | Collapsed]:
        """The paragraphs to show: every change with `context` unchanged paragraphs around it; each longer
        run of unchanged paragraphs collapsed into a count."""
        near = set()
        for i, p in enumerate(self.paragraphs):
            if p.kind != "same":
                near.update(range(i - context, i + context + 1))
        out: list[Paragraph | Collapsed] = []
        for i, p in enumerate(self.paragraphs):
            if p.kind != "same" or i in near:
                out.append(p)
            elif out and isinstance(out[-1], Collapsed):
                out[-1].count += 1
            else:
                out.append(Collapsed(1))
        return out


def paragraphs(body: str | None) -> list[str]:
    return [p.strip() for p in (body or "").split("\n") if p.strip()]


def char_segments(old: str, new: str) -> list[Segment]:
    """old → new as equal/delete/insert runs of characters (a replaced run: its deletion, then its insertion)."""
    out: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(Segment("equal", old[i1:i2]))
            continue
        if i2 > i1:
            out.append(Segment("delete", old[i1:i2]))
        if j2 > j1:
            out.append(Segment("insert", new[j1:j2]))
    return out


def diff_paragraphs(old: list[str], new: list[str]) -> list[Paragraph]:
    out: list[Paragraph] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            out += [Paragraph("same", p, p) for p in old[i1:i2]]
            continue
        olds, news = old[i1:i2], new[j1:j2]
        # Pair the paragraphs of a replaced run in order while they are alike: edits; the rest: removed/added.
        k = 0
        while k < min(len(olds), len(news)):
            a, b = olds[k], news[k]
            if difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() < SAME_PARAGRAPH_RATIO:
                break
            out.append(Paragraph("changed", a, b, char_segments(a, b)))
            k += 1
        out += [Paragraph("removed", p, None) for p in olds[k:]]
        out += [Paragraph("added", None, p) for p in news[k:]]
    return out


def _json(value, default):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return default if value is None else value


def diff_fields(old: Mapping, new: Mapping) -> list[FieldChange]:
    out = [FieldChange(name, label, old.get(name), new.get(name)) for name, label in FIELDS
           if (old.get(name) or None) != (new.get(name) or None)]
    old_x, new_x = old.get("xxgk"), new.get("xxgk")
    if old_x is not None and new_x is not None:
        ox, nx = _json(old_x, {}) or {}, _json(new_x, {}) or {}
        for key in [*ox, *(k for k in nx if k not in ox)]:
            if (ox.get(key) or None) != (nx.get(key) or None):
                out.append(FieldChange(f"xxgk.{key}", key, ox.get(key), nx.get(key)))
    else:  # a version from before the table was kept: compare what was read from it
        out += [FieldChange(name, label, old.get(name), new.get(name)) for name, label in XXGK_COLUMNS
                if old.get(name) is not None and new.get(name) is not None and old.get(name) != new.get(name)]
    return out


def diff_attachments(old: list[Mapping] | str | None, new: list[Mapping] | str | None) -> list[AttachmentChange]:
    olds = {a["url"]: a for a in _json(old, []) or [] if a.get("url")}
    news = {a["url"]: a for a in _json(new, []) or [] if a.get("url")}
    removed = [a for u, a in olds.items() if u not in news]
    added = [a for u, a in news.items() if u not in olds]
    out = []
    for a in removed:
        twin = next((b for b in added if (b.get("text") or None) == (a.get("text") or None)), None)
        if twin is not None:  # the same link text, another file: replaced
            added.remove(twin)
            out.append(AttachmentChange("replaced", a.get("text"), a["url"], twin["url"]))
        else:
            out.append(AttachmentChange("removed", a.get("text"), a["url"], None))
    out += [AttachmentChange("added", a.get("text"), None, a["url"]) for a in added]
    return out


def diff_versions(old: Mapping, new: Mapping) -> VersionDiff:
    """Everything that changed from version `old` to version `new` (rows of article_versions)."""
    paras = diff_paragraphs(paragraphs(old.get("body")), paragraphs(new.get("body")))
    fields = diff_fields(old, new)
    attachments = diff_attachments(old.get("attachments"), new.get("attachments"))
    s = DiffSummary(fields_changed=len(fields), attachments_changed=len(attachments))
    for p in paras:
        if p.kind == "added":
            s.paragraphs_added += 1
            s.chars_added += len(p.new)
        elif p.kind == "removed":
            s.paragraphs_removed += 1
            s.chars_removed += len(p.old)
        elif p.kind == "changed":
            s.paragraphs_changed += 1
            s.chars_added += sum(len(g.text) for g in p.segments if g.op == "insert")
            s.chars_removed += sum(len(g.text) for g in p.segments if g.op == "delete")
    return VersionDiff(paras, fields, attachments, s)
