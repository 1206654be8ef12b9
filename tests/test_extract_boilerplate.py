"""Widget, footer and duplicate lines that must not reach a body; article text that only looks alike stays."""

from __future__ import annotations

import pytest

from crawler.extract.boilerplate import clean_lines, dedupe_copies, is_widget_line


@pytest.mark.parametrize("line", [
    "扫一扫在手机打开当前页",
    "【返回顶部】【打印此页】【关闭窗口】",
    "字号：〖默认 超大〗",
    "【字体：大 中 小】【打印】【关闭】",
    "分享到：微信 微博 QQ空间",
    "浏览次数：1024",
    "上一篇：市生态环境局开展冬季执法检查",
    "下一篇：没有了",
    "网站地图 | 联系我们 | 法律声明 | 设为首页",
    "主办单位：示例市人民政府办公室 版权所有 网站标识码：3200000099",
    "示ICP备00000000号-1",
    "Copyright © 2025 示例县融媒体中心 All Rights Reserved",
    "视力保护色：【打印正文】【返回列表】",
    "【朗读】【停止】 访问次数：88",
    "字体：【大 中 小】 背景色： 护眼模式",
])
def test_widget_lines_go(line: str) -> None:
    assert is_widget_line(line)


@pytest.mark.parametrize("line", [
    "让老字号热起来，加快发展户外运动产业。",  # 字号 as a word
    "版权所有，转载请注明出处。",  # a notice the CMS put inside the article
    "请于1月31日前打印申请表并签字后提交。",
    "会议决定关闭3家不合格企业。",
    "联系人：张三 电话：0000-1234567",
    "开展爱眼护眼宣传活动，普及视力保护知识。",  # 护眼 / 视力保护 as words
    "组织学生朗读红色家书。",
])
def test_article_text_stays(line: str) -> None:
    assert not is_widget_line(line)


def test_inline_widget_buttons_are_cut_from_a_text_line() -> None:
    assert clean_lines(["会议要求做好工作。【打印本页】【关闭窗口】"]) == ["会议要求做好工作。"]


def test_a_second_copy_of_the_article_reads_once() -> None:
    body = ["第一段。", "第二段。", "第三段。"]
    assert dedupe_copies(body + body) == body
    assert dedupe_copies(body + ["第一段。", "第三段。", "第二段。"]) == body  # a reflowed copy
    assert dedupe_copies(["甲。", "乙。", "甲。", "丙。"]) == ["甲。", "乙。", "甲。", "丙。"]  # a repeat is not a copy
