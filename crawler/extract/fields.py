"""Labelled metadata in visible text (发布日期：…, 来源：…) and 政府信息公开 tables (索引号 …)."""

from __future__ import annotations

import re

# Every label we recognise, so that one label's value stops where the next label starts.
_LABELS = (
    "发布日期 发布时间 发表时间 发表日期 发稿时间 发稿日期 录入时间 添加时间 上传时间 刊发时间 信息时间 发布于 上线时间 "
    "公布日期 更新时间 更新日期 成文日期 成文时间 印发日期 生成日期 发文日期 发文时间 公开日期 公开时间 "
    "实施日期 生效日期 废止日期 日期 时间 信息来源 文章来源 稿件来源 内容来源 新闻来源 来源单位 来源 稿源 出处 "
    "供稿单位 供稿 发布单位 发布部门 作者 "
    "责任编辑 编辑 审核 校对 摄影 浏览次数 浏览量 访问量 阅读次数 阅读量 点击数 点击率 点击 字号 字体 "
    "索引号 索取号 主题分类 发文机关 发布机关 发布机构 发文字号 文号 有效性 组配分类 公开方式 公开时限 公开范围 责任部门 "
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
                    "上传时间", "刊发时间", "信息时间", "发布于", "上线时间", "公布日期", "发文日期", "发文时间", "公开日期",
                    "公开时间", "日期", "时间")
WRITTEN_LABELS = ("成文日期", "成文时间", "印发日期")
# 政府信息公开 table labels of the publication date (发文日期 is when the document was issued = published).
TABLE_PUBLISHED_LABELS = ("发布日期", "发文日期", "生成日期", "发布时间", "发文时间", "公开日期", "公开时间")
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
    # A digit before the label is the end of the previous value ("09:15来源：" from adjacent spans).
    return "\u4e00" <= ch <= "\u9fff" or ch.isalpha()


# ---------------------------------------------------------------- 政府信息公开 tables: see xxgk.py
