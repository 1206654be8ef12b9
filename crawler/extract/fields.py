"""Labelled metadata in visible text (发布日期：…, 来源：…) and 政府信息公开 tables (索引号 …)."""

from __future__ import annotations

import re

from .dom import collapse, string_of

# Every label we recognise, so that one label's value stops where the next label starts.
_LABELS = (
    "发布日期 发布时间 发表时间 发表日期 发稿时间 发稿日期 录入时间 添加时间 上传时间 刊发时间 信息时间 发布于 上线时间 "
    "公布日期 更新时间 更新日期 成文日期 印发日期 生成日期 发文日期 "
    "实施日期 生效日期 废止日期 日期 时间 信息来源 文章来源 稿件来源 内容来源 新闻来源 来源单位 来源 稿源 出处 "
    "供稿单位 供稿 发布单位 发布部门 作者 "
    "责任编辑 编辑 审核 校对 摄影 浏览次数 浏览量 访问量 阅读次数 阅读量 点击数 点击率 点击 字号 字体 "
    "索引号 主题分类 发文机关 发布机构 发文字号 文号 有效性 组配分类 公开方式 公开时限 公开范围 责任部门 "
    "所属机构 发文单位 体裁分类 主题词 关键词 分享到 打印"
).split()


def _spaced(label: str) -> str:
    # Templates pad labels to a fixed width: "索  引  号".
    return r"\s*".join(re.escape(ch) for ch in label)


_LABEL_RX = re.compile(
    r"(?P<label>" + "|".join(_spaced(x) for x in sorted(_LABELS, key=len, reverse=True)) + r")\s*[:：]"
)
_NEXT_LABEL = re.compile(r"\s+[^\s\d:：/.\-]{1,8}[:：]|[【〖\[|]")

PUBLISHED_LABELS = ("发布日期", "发布时间", "发表时间", "发表日期", "发稿时间", "发稿日期", "录入时间", "添加时间",
                    "上传时间", "刊发时间", "信息时间", "发布于", "上线时间", "公布日期", "日期", "时间")
WRITTEN_LABELS = ("成文日期", "印发日期", "发文日期")
SOURCE_LABELS = ("信息来源", "文章来源", "稿件来源", "内容来源", "新闻来源", "来源单位", "来源", "出处", "供稿单位",
                 "供稿")
AUTHOR_LABELS = ("作者",)
EDITOR_LABELS = ("责任编辑", "编辑")
# Labels of the date/source line under a headline (and its widgets), never article text on their own.
META_LINE_LABELS = frozenset(PUBLISHED_LABELS + SOURCE_LABELS + AUTHOR_LABELS + EDITOR_LABELS + (
    "稿源", "更新时间", "更新日期", "发布单位", "发布部门", "浏览次数", "浏览量", "访问量", "阅读次数", "阅读量", "点击数", "点击率", "点击",
    "字号", "字体", "分享到", "打印", "审核", "校对", "摄影"))


def labelled(line: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a line into its unlabelled prefix and (label, value) pairs; labels without inner spaces."""
    matches = list(_LABEL_RX.finditer(line))
    if not matches:
        return line, []
    prefix = line[: matches[0].start()]
    pairs = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
        value = line[m.end():end]
        cut = _NEXT_LABEL.search(value)
        if cut:
            value = value[: cut.start()]
        label = re.sub(r"\s+", "", m["label"])
        # "日期"/"时间" inside a longer word (会议时间：) is not our label.
        before = line[m.start() - 1] if m.start() else ""
        if label in ("日期", "时间", "来源", "编辑") and before and _is_word_char(before):
            continue
        pairs.append((label, value.strip(" 　|()（）【】〖〗[]")))
    return prefix, pairs


def _is_word_char(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or ch.isalnum()


# ---------------------------------------------------------------- 政府信息公开 tables

XXGK_LABELS = (
    "索引号 信息索引号 主题分类 主题词 发文机关 发布机构 发文单位 责任部门 所属机构 信息来源 来源 成文日期 发文日期 "
    "印发日期 发布日期 生成日期 发布时间 公开日期 发文字号 文号 文件编号 有效性 时效性 组配分类 体裁分类 公开方式 "
    "公开时限 公开范围 公开形式 标题 名称 信息名称 文件名称 关键词 实施日期 生效日期 废止日期 效力状态 内容概述"
).split()
_XXGK_SET = frozenset(XXGK_LABELS)
# A known label followed by a colon, at the start of a cell or after whitespace ("索  引  号：…").
_XXGK_LABEL_RX = re.compile(
    r"(?:^|(?<=\s))(?P<label>" + "|".join(_spaced(x) for x in sorted(XXGK_LABELS, key=len, reverse=True))
    + r")\s*[:：]"
)
_CELLS = ("td", "th", "dt", "dd", "li")


def _norm_label(s: str) -> str:
    return re.sub(r"[\s\u3000:：]+", "", s)


def _cells(el) -> list[str]:
    """The block's text in reading units: table cells, dt/dd, list items (innermost ones), or else its
    text nodes. A cell's text is whole, so a label split by markup (索<span/>引<span/>号) reads as one."""
    cells = [c for c in el.iter(*_CELLS) if next((d for d in c.iter(*_CELLS) if d is not c), None) is None]
    if cells:
        return [collapse(string_of(c)) for c in cells]
    return [collapse(t) for t in el.itertext()]


def parse_xxgk_block(el) -> dict[str, str]:
    """Read label -> value pairs from a metadata block, whatever the layout: label and value in one cell
    (<b>label:</b> value), a label cell then a value cell (th/td, dt/dd, label/div)."""
    out: dict[str, str] = {}
    pending: str | None = None
    for text in _cells(el):
        if not text:
            continue
        bare = _norm_label(text)
        if bare in _XXGK_SET:
            pending = bare  # a label cell; its value is the next cell
            continue
        matches = list(_XXGK_LABEL_RX.finditer(text))
        if not matches or text[: matches[0].start()].strip():
            if pending is not None:
                out.setdefault(pending, text)
                pending = None
            continue
        pending = None
        for i, m in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
            label, value = _norm_label(m["label"]), text[m.end():end].strip()
            if value:
                out.setdefault(label, value)
            elif i == len(matches) - 1:
                pending = label
    return out


# Every real 政府信息公开 table carries a 索引号 (possibly split: 索<span/>引<span/>号).
_BLOCKS = frozenset("table div dl ul ol section article form".split())


def find_xxgk(root, exclude=None) -> dict[str, str]:
    """The first 政府信息公开 metadata block on the page (a table printed twice is read once): the
    innermost block around a label-looking text that holds a core label and at least four labels."""
    tried: set = set()
    starts = []
    for node in root.iter():
        if node.text and "索" in node.text:
            starts.append(node)
        if node.tail and "索" in node.tail:
            starts.append(node.getparent())
    for el in starts:
        if el is None:
            continue
        if exclude is not None and (el is exclude or any(a is exclude for a in el.iterancestors())):
            continue
        node = el
        while node is not None and node not in tried and node.tag not in ("body", "html"):
            tried.add(node)
            if node.tag in _BLOCKS:
                txt = string_of(node)
                if len(txt) > 3000:
                    break
                norm = re.sub(r"\s+", "", txt)
                if "索引号" in norm and sum(lab in norm for lab in XXGK_LABELS) >= 4:
                    return parse_xxgk_block(node)
            node = node.getparent()
    return {}
