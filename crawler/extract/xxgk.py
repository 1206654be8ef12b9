"""政府信息公开 metadata blocks (索引号, 发文机关, 成文日期 …), in whatever layout a CMS prints them.

Layouts read: a table with label and value in one cell (`索引号：…`) or in separate cells, several pairs
per row; a header row of labels over a row of values; `<dl>` dt/dd and `<ul>` li lists; runs of
`<span>` labels and values; labels padded or split by markup (`索<span/>引<span/>号`). A page may
print the block twice (two layouts) or keep a hidden or commented-out copy: hidden elements are gone
before this runs and comments are never text, so every field is read from a visible copy, the first
that has it. A block is the smallest element whose text is mostly labels and their values and that
holds a core label (`索引号`, `发文机关`, `成文日期`, `发文字号` …): never article text.
"""

from __future__ import annotations

import re

from .dom import collapse, string_of

XXGK_LABELS = (
    "索引号 信息索引号 索取号 主题分类 所属主题 主题词 发文机关 发布机关 发布机构 发文单位 发布单位 责任部门 所属机构 "
    "信息来源 来源 成文日期 成文时间 发文日期 发文时间 印发日期 发布日期 生成日期 发布时间 公开日期 公开时间 发文字号 "
    "文号 文件编号 发布文号 文种 公文种类 有效性 时效性 组配分类 "
    "体裁分类 信息分类 公开方式 公开时限 公开范围 公开形式 公开类别 标题 名称 信息名称 文件名称 关键词 实施日期 "
    "生效日期 废止日期 效力状态 内容概述 服务对象"
).split()
# Labels only a metadata block has (标题, 来源, 发布日期 … also head ordinary articles).
CORE_LABELS = frozenset(
    "索引号 信息索引号 索取号 主题分类 发文机关 发布机关 发文单位 成文日期 成文时间 发文字号 组配分类 体裁分类 公开方式 "
    "公开时限 公开范围 公开类别 信息分类 有效性 时效性 印发日期 发文日期 发文时间 发布文号 文件编号 公文种类".split()
)
_XXGK_SET = frozenset(XXGK_LABELS)


def _spaced(label: str) -> str:
    return r"[\s\u3000]*".join(re.escape(ch) for ch in label)


_ALT = "|".join(_spaced(x) for x in sorted(XXGK_LABELS, key=len, reverse=True))
# A known label followed by a colon, at the start of a text, after whitespace or a separator.
_LABEL_RX = re.compile(r"(?:^|(?<=[\s|｜;；]))(?P<label>" + _ALT + r")[\s\u3000]*[:：]")
_ANY_LABEL = re.compile(_ALT)
_CORE_ANY = re.compile("|".join(_spaced(x) for x in sorted(CORE_LABELS, key=len, reverse=True)))
# Per text node also a lone 索: a label split by markup (索<span/>引<span/>号) starts in its own node.
_CORE_START = re.compile(_CORE_ANY.pattern + "|索")
_CELLS = ("td", "th", "dt", "dd", "li")
_BLOCKS = frozenset("table tbody div dl ul ol section article form p".split())


def norm_label(s: str) -> str:
    return re.sub(r"[\s\u3000:：]+", "", s)


def _innermost_cells(el) -> list:
    return [c for c in el.iter(*_CELLS) if next((d for d in c.iter(*_CELLS) if d is not c), None) is None]


def _units(el) -> list[str]:
    """The block's text in reading units: table cells, dt/dd, list items (innermost ones), or else its
    text nodes. A header row of labels over a row of as many values reads as label, value pairs."""
    cells = _innermost_cells(el)
    if not cells:
        return _runs(el)
    rows = [tr for tr in el.iter("tr")]
    if not rows:
        return [t for c in cells for t in _cell_units(c)]
    out: list[str] = []
    texts = [[collapse(string_of(c)) for c in tr if c.tag in ("td", "th")] for tr in rows]
    i = 0
    while i < len(texts):
        row = texts[i]
        nxt = texts[i + 1] if i + 1 < len(texts) else None
        if len(row) >= 2 and all(norm_label(t) in _XXGK_SET for t in row) and nxt and len(nxt) == len(row) \
                and not any(norm_label(t) in _XXGK_SET for t in nxt):
            for label, value in zip(row, nxt, strict=True):
                out += [label, value]
            i += 2
            continue
        out += row
        i += 1
    # Cells outside any row (a dl inside a table cell was counted as its cell).
    return out


def _cell_units(cell) -> list[str]:
    """A cell whole when it reads as a label (with its value), else its inline runs
    (`<li><span>公开方式</span><span>主动公开</span></li>`)."""
    whole = collapse(string_of(cell))
    if norm_label(whole) in _XXGK_SET or _LABEL_RX.match(whole) or len(cell) < 2:
        return [whole]
    return _runs(cell)


_RUN_BLOCKS = frozenset("div p section article form dl ul ol table".split())


def _runs(el) -> list[str]:
    """Texts of a block without cells: each inline child whole (`<span>索<i/>引<i/>号：</span>` is one
    label), text between children apart, block children read the same way."""
    out = [collapse(el.text)]
    for child in el:
        if isinstance(child.tag, str):
            out += _runs(child) if child.tag in _RUN_BLOCKS else [collapse(string_of(child))]
        out.append(collapse(child.tail))
    return [t for t in out if t]


def parse_block(el) -> dict[str, str]:
    """label -> value pairs of a metadata block (see the module docstring for the layouts)."""
    out: dict[str, str] = {}
    pending: str | None = None
    for text in _units(el):
        if not text:
            continue
        bare = norm_label(text)
        if bare in _XXGK_SET:
            pending = bare  # a label unit; its value is the next unit
            continue
        matches = list(_LABEL_RX.finditer(text))
        if not matches or text[: matches[0].start()].strip():
            if pending is not None:
                out.setdefault(pending, text)
                pending = None
            continue
        pending = None
        for i, m in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
            label, value = norm_label(m["label"]), text[m.end():end].strip()
            if value:
                out.setdefault(label, value)
            elif i == len(matches) - 1:
                pending = label
    return out


def _is_block(el) -> dict[str, str] | None:
    """The pairs of el when el is a metadata block (mostly labels and values, a core label), else None."""
    txt = collapse(string_of(el))
    if not txt or len(txt) > 3000:
        return None
    norm = re.sub(r"\s+", "", txt)
    if sum(lab in norm for lab in CORE_LABELS) < 1 or len({m.group(0) for m in _ANY_LABEL.finditer(norm)}) < 4:
        return None
    pairs = parse_block(el)
    if len(pairs) < 3 or not CORE_LABELS & set(pairs):
        return None
    covered = sum(len(k) + len(re.sub(r"\s+", "", v)) for k, v in pairs.items())
    if covered < 0.6 * len(re.sub(r"[:：]", "", norm)):
        return None  # a block with more than metadata in it (an article that mentions the labels)
    return pairs


def _may_label(text: str) -> bool:
    # A label is a short text of its own (a label cell) or is followed by a colon: long prose without
    # a colon is skipped before the (slower) label search.
    return (len(text) <= 24 or "：" in text or ":" in text) and _CORE_START.search(text) is not None


def find_blocks(root) -> list[tuple[object, dict[str, str]]]:
    """Every visible metadata block on the page, in document order, with its pairs."""
    # One pass in C over the page text first: most news pages hold no core label at all (a label split
    # by markup is contiguous here, string() joins the text nodes).
    if _CORE_ANY.search(string_of(root)) is None:
        return []
    starts = []
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        if node.text and _may_label(node.text):
            starts.append(node)
        if node.tail and _may_label(node.tail):
            starts.append(node.getparent())
    tried: set = set()
    found: list = []
    for el in starts:
        node = el
        while node is not None and node not in tried and node.tag not in ("body", "html"):
            tried.add(node)
            if node.tag in _BLOCKS:
                if len(string_of(node)) > 6000:
                    break
                pairs = _is_block(node)
                if pairs is not None:
                    # Sibling lists of one block (a dl, then a ul): the parent when it is all metadata too.
                    for _ in range(2):
                        parent = node.getparent()
                        if parent is None or parent.tag not in _BLOCKS:
                            break
                        more = _is_block(parent)
                        if more is None or len(more) <= len(pairs):
                            break
                        node, pairs = parent, more
                        tried.add(node)
                    found.append((node, pairs))
                    break
            node = node.getparent()
    # A block found inside another found block (a table in a wrapper div) is read once, as the outer.
    outer = {b for b, _ in found}
    return [(b, p) for b, p in found if not any(a in outer for a in b.iterancestors())]


def merge(blocks: list[tuple[object, dict[str, str]]]) -> dict[str, str]:
    """One label -> value table from every copy, the first copy's value winning."""
    out: dict[str, str] = {}
    for _, pairs in blocks:
        for k, v in pairs.items():
            out.setdefault(k, v)
    return out
