"""Extraction on our authored fixture pages (fixtures/pages/<family>/<name>.html + expected <name>.json)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.extract import extract_article
from crawler.extract.cases import Case, find_cases, load

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
CASES = find_cases(PAGES, "article")
# Widget text that must never reach a body. 字号 only as the font-size widget: the seed text itself
# speaks of 老字号 (old brands).
BOILERPLATE = re.compile(r"扫一扫|打印此页|打印本页|关闭窗口|返回顶部|字号\s*[:：〖【\[]|浏览次数|分享到|上一篇|下一篇|"
                         r"版权所有|ICP备|网站标识码")
_RUNS: dict[str, dict] = {}


def _run(case: Case) -> dict:
    if case.name not in _RUNS:
        _RUNS[case.name] = case.run()
    return _RUNS[case.name]


def _extract(name: str) -> dict:
    return _run(load(PAGES / name))


# One test per (case, field): a failure names the page and the field.
FIELD_CASES = [(c, k) for c in CASES for k in c.expected()]


@pytest.mark.parametrize("case, key", FIELD_CASES, ids=[f"{c.name}:{k}" for c, k in FIELD_CASES])
def test_fixture_field_matches_expected(case: Case, key: str) -> None:
    assert _run(case)[key] == case.expected()[key]


def test_every_case_pins_every_record_field() -> None:
    for case in CASES:
        assert set(case.expected()) == set(_run(case)) - {"content_hash"}, case.name


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixture_body_has_no_boilerplate(case: Case) -> None:
    body = _run(case)["body"]
    assert body.strip()
    assert not BOILERPLATE.findall(body)


def test_seed_page_changzhou_shape() -> None:
    rec = _extract("changzhou/ns_news_seed")
    assert rec["published"] == "2025-01-06"
    assert rec["title"] == "常州政协:强化政治引领广泛凝聚共识,聚焦中心大局积极履职尽责"
    assert rec["breadcrumb"] == "首页 >> 新闻中心 >> 常州新闻 >> 正文"
    for junk in ("扫一扫", "打印此页", "关闭窗口", "字号:", "〖默认", "浏览次数", "返回顶部", "发布日期"):
        assert junk not in rec["body"]
    lines = rec["body"].split("\n")
    assert lines[0].startswith("2024年是中华人民共和国和人民政协成立75周年")
    assert lines[-1].endswith("董事长钱罗洪作为协会副会长有感而发。")
    assert rec["family"] == "changzhou"


def test_trs_gbk_page_decodes_and_finds_attachments() -> None:
    page = load(PAGES / "trs" / "t20250106_gbk").page
    raw = page.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is GBK bytes
    rec = _extract("trs/t20250106_gbk")
    assert rec["encoding"] in ("gb18030", "gbk", "gb2312")
    assert rec["title"] == "市生态环境局部署2025年大气污染防治重点工作"
    assert rec["published"] == "2025-01-06T10:30:00+08:00"
    assert rec["source"] == "市生态环境局"
    urls = [a["url"] for a in rec["attachments"]]
    # One link inside div.TRS_Editor, one in the 附件 block after it; both resolved against the page URL.
    assert urls == ["http://www.example-trs.gov.cn/bmdt/202501/P020250106371562843211.pdf",
                    "http://www.example-trs.gov.cn/bmdt/202501/P020250106371562843212.doc"]
    assert [i["url"] for i in rec["images"]] == ["http://www.example-trs.gov.cn/bmdt/202501/W020250106371562843210.jpg"]
    assert "指标 2024年 2025年目标" in rec["body"].split("\n")  # a table row is one line
    assert not re.search("[\u00c0-\u00ff]{2}", rec["body"])  # no Latin-1 mojibake


def test_content_hash_is_stable_and_tracks_the_text() -> None:
    case = load(PAGES / "trs" / "t20250106_gbk")
    page = case.page
    a = case.run()
    b = case.run()
    assert a["content_hash"] == b["content_hash"] and re.fullmatch("[0-9a-f]{64}", a["content_hash"])
    changed = page.read_bytes().replace("十项专项行动".encode("gbk"), "九项专项行动".encode("gbk"))
    c = extract_article(a["url"], changed)
    assert c["content_hash"] != a["content_hash"]
