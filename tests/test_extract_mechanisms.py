"""One test per extraction mechanism, each on its own authored fixture page (fixtures/pages/)."""

from __future__ import annotations

from pathlib import Path

from crawler.extract import extract_article
from crawler.extract.cases import load

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"


def extract(rel: str, **kw) -> dict:
    """Extract the case fixtures/pages/<rel> (a trailing .html is ignored), with inputs overridable."""
    case = load(PAGES / rel.removesuffix(".html"))
    headers = kw.pop("headers", case.headers)
    overrides = kw.pop("overrides", case.inputs or None)
    return extract_article(kw.pop("url", case.url), case.page.read_bytes(), headers, overrides)


def test_hanweb_markers_xxgk_table_and_meta_pubdate() -> None:
    rec = extract("hanweb/art_1229_4567890.html")
    assert rec["family"] == "hanweb"
    # Only 成文日期 is displayed: it is written_date; published falls back to the CMS's PubDate (date part).
    assert rec["written_date"] == "2025-01-06"
    assert rec["published"] == "2025-01-08"
    # Padded labels (索  引  号) read as 索引号; the table printed again for print is read once.
    assert rec["xxgk"]["索引号"] == "000014349/2025-00108"
    assert rec["index_no"] == "000014349/2025-00108" and rec["doc_no"] == "示政办发〔2025〕3号"
    assert rec["source"] == "示例省人民政府办公厅"  # 发文机关; the hidden 来源 div is not body text
    assert "来源" not in rec["body"]
    assert rec["attachments"][0]["url"].endswith("downfile.jsp?classid=0&filename=2f4c6a1d9e3b4c1a8f7e6d5c4b3a2910.docx")
    assert rec["body"].split("\n")[-1] == "（此件主动公开）"


def test_ucap_publishtime_wins_over_regenerated_meta_and_hidden_copy_dropped() -> None:
    rec = extract("ucap/0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f.html")
    assert rec["family"] == "ucap"
    assert rec["published"] == "2023-06-14T15:20:00+08:00"  # PubDate meta says 2024-11-30 (regenerated)
    assert rec["source"] is None  # 来源： is shown empty; ContentSource meta is empty
    assert rec["body"].count("近日，城关镇") == 1  # the display:none elderly copy is not read


def test_ucap_xxgk_dl_layout_and_stylesheet_hidden_copy() -> None:
    rec = extract("ucap/6f1e2d3c4b5a69788796a5b4c3d2e1f0.html")
    assert rec["published"] == "2025-02-28"  # 生成日期 in the dl/dd table; not the related-article date
    assert rec["source"] == "示例县统计局"  # 责任部门
    assert rec["xxgk"]["公开方式"] == "主动公开"
    # .oldage-version{display:none} in the page's <style>: the copy is dropped.
    assert rec["body"].count("全年粮食总产量") == 1
    assert rec["images"][0]["alt"] == "图1 地区生产总值及增速"


def test_enorth_enpcontent_and_editor_line() -> None:
    rec = extract("enorth/content_2004518.html")
    assert rec["family"] == "enorth"
    assert rec["published"] == "2024-08-12T09:05:00+08:00"  # unlabelled date in the info list
    assert rec["source"] == "科技日报"
    assert rec["author"] == "林晓"  # 作者 is empty; 编辑 line after the body
    assert "分享到" not in rec["body"] and "编辑" not in rec["body"]


def test_gongbao_title_only_in_body_and_firstpublishedtime() -> None:
    rec = extract("gongbao/content_5501234.html")
    # Two documents in one file (an include with its own </html>): the article is in the second.
    assert rec["title"] == "示例委员会关于修订城市绿化管理办法的决定"
    assert rec["body"].startswith("示例委员会\n关于修订城市绿化管理办法的决定\n")  # heading kept in body
    assert rec["published"] == "2025-01-20"  # no date shown: <meta name="firstpublishedtime">
    assert "扫一扫" not in rec["body"]


def test_density_fallback_on_unknown_cms() -> None:
    rec = extract("generic/density_unknown_cms.html")
    assert rec["family"] == "density"
    # <title> has a one-character typo; the visible headline is taken.
    assert rec["title"] == "市农业农村局召开春耕备耕工作调度会"
    assert rec["published"] == "2025-01-06T10:30:00+08:00"  # not the "今天是" date in the site header
    assert (rec["source"], rec["author"]) == ("市农业农村局", "张明")
    lines = rec["body"].split("\n")
    assert lines[0].startswith("1月6日，市农业农村局召开")  # headline and info line cut off
    assert "化肥 12.6万吨 +3.1%" in lines  # table row = one line
    assert lines[-1] == "二〇二五年一月三日"  # signature date stays body, never published
    assert not any(x in rec["body"] for x in ("工作动态", "上一篇", "打印本页", "版权所有"))


def test_meta_crosscheck_split_title_commented_metadata_hidden_attachments() -> None:
    rec = extract("generic/meta_crosscheck.html")
    assert rec["title"] == "一图读懂《示例市促进民营经济发展若干措施》"  # <div> second line joined
    assert rec["published"] == "2025-01-06"  # displayed 2025/1/6 beats PubDate 2025-04-18 and the comment
    assert rec["source"] == "示例市发展和改革委员会"  # not the commented-out 市政府办公室
    assert rec["attachments"] == []  # the 附件 box is display:none
    assert len(rec["images"]) == 2


def test_trs_xxgk_th_td_table_printed_twice_with_chinese_date() -> None:
    rec = extract("trs/t20250110_4410021_xxgk.html")
    assert rec["family"] == "trs"
    assert rec["written_date"] == "2025-01-03"  # 二〇二五年一月三日
    assert rec["published"] == "2025-01-10"  # 发布日期 2025.01.10 in the table
    assert rec["xxgk"]["有效性"] == "有效" and rec["topic"] == "文化、广电、新闻出版"
    assert rec["issuer"] == rec["source"] == "示例市人民政府"
    assert list(rec["xxgk"].values()).count("11990000MB0000000X/2025-00021") == 1


def test_trs_date_from_url_and_attachment_by_link_text() -> None:
    rec = extract("trs/t20241231_4400017_nodate.html")
    assert rec["published"] == "2024-12-31"  # nothing displayed, no meta: t20241231_ in the URL
    assert [a["text"] for a in rec["attachments"]] == ["2025年度科技计划项目申报指南.docx", "申报书模板.zip"]
    assert rec["attachments"][0]["url"] == "http://kjj.example.gov.cn/attachment/download?id=8812"
    assert rec["images"][0]["url"] == "http://kjj.example.gov.cn/tzgg/202412/W020241231398877665544.png"


def test_changzhou_govinfo_page() -> None:
    rec = extract("changzhou/gi_news_xxgk.html")
    assert rec["family"] == "changzhou"
    assert rec["published"] == "2025-01-07" and rec["doc_no"] == "常城管通〔2025〕1号"
    assert rec["breadcrumb"] == "首页 >> 政府信息公开 >> 通知公告 >> 正文"
    assert "浏览次数" not in rec["body"] and "索引号" not in rec["body"]


def test_encodings_never_mojibake() -> None:
    plain = extract("encoding/gbk_no_charset.html")
    assert plain["encoding"] == "gb18030" and "张喆" in plain["body"]  # 喆 is GBK, not GB2312
    lying_header = extract("encoding/gbk_header_says_utf8.html")
    assert lying_header["title"] == "区政务服务中心延长周末办理时间" and "王堃" in lying_header["body"]
    lying_meta = extract("encoding/utf8_meta_says_gbk.html")
    assert lying_meta["encoding"] == "utf-8" and lying_meta["source"] == "区人力资源和社会保障局"
    # A stray byte and a transfer cut mid-character: still UTF-8 (GB18030 would decode it all as mojibake).
    cut = extract("encoding/utf8_truncated.html")
    assert cut["encoding"] == "utf-8" and cut["title"] == "区市场监管局开展春节前食品安全检查"


def test_per_site_overrides_as_data() -> None:
    default = extract("override/xiangxi_2025_0106.html", overrides=None)
    # What the page misleads the generic rules into: a wrong headline and the 局长致辞 box as body.
    assert default["title"] != "县水利局开展汛前水库安全检查" and "欢迎访问示例县水利局网站" in default["body"]
    rec = extract("override/xiangxi_2025_0106.html")
    assert rec["family"] == "override"
    assert rec["title"] == "县水利局开展汛前水库安全检查"
    assert rec["published"] == "2025-01-06"
    assert rec["source"] == "县水利局工程股"  # XPath selector; the label is stripped
    assert rec["body"].startswith("1月6日，县水利局组织")
    # A broken selector in site data never breaks extraction.
    broken = extract("override/xiangxi_2025_0106.html", overrides={"body": "div[[", "title": "//*["})
    assert broken["body"]


def test_density_on_other_layouts() -> None:
    """Pages of no known family laid out four other common ways."""
    sudy = extract("generic/sudy_webplus.html")  # div.wp_articlecontent inside entry/read wrappers
    assert (sudy["title"], sudy["published"]) == ("学院召开2025年工作会议", "2025-01-06")
    assert sudy["body"].startswith("1月6日") and "浏览次数" not in sudy["body"]
    after = extract("generic/info_line_after_body.html")  # date above, 来源 only below the body
    assert (after["published"], after["source"]) == ("2025-01-06", "示例日报")
    flat = extract("generic/flat_article_div.html")  # h1, 【】 info line and paragraphs as siblings
    assert flat["published"] == "2025-01-06T15:30:00+08:00" and flat["author"] == "李华"
    assert flat["body"].count("\n") == 2 and "打印" not in flat["body"]
    old = extract("generic/table_layout_gbk.html")  # GB2312 table layout, <br> paragraphs, site-name <title>
    assert old["title"] == "示例镇开展冬季森林防火宣传活动"
    assert old["published"] == "2025-01-06" and old["author"] == "镇农业办"
    assert old["body"].split("\n")[1].startswith("活动中")


def test_source_only_inside_the_body() -> None:
    rec = extract("trs/t20250107_4402001_source_in_body.html")
    assert rec["source"] == "示例日报"  # the last resort: a （来源：…） line in the body
    assert rec["body"].endswith("（来源：示例日报）")  # it stays body text
    assert rec["published"] == "2025-01-07T08:40:00+08:00"  # unlabelled date under the headline


def test_govcn_policy_template_table_date_gets_the_shown_time() -> None:
    rec = extract("govcn/content_5560001.html")
    # Labels split by padding spans (索<span/>引<span/>号：) read whole.
    assert rec["index_no"] == "000014672/2025-00006" and rec["xxgk"]["标题"].startswith("示例部关于")
    assert rec["written_date"] == "2024-12-30"
    # The table gives 发布日期 as a date; the line under the headline shows the same day with its time.
    assert rec["published"] == "2025-01-06T10:30:00+08:00"
    assert rec["source"] == "示例部网站" and rec["author"] == "刘畅"
    assert "纠错" not in rec["body"] and rec["body"].startswith("示农发〔2024〕12号")


def test_xxgk_table_matches_the_real_pages_gold() -> None:
    from tests.shared_corpus import realpages

    pages = [m for m in realpages() if m["gold"].get("_xxgk_meta")]
    if not pages:
        import pytest

        pytest.skip("../shared/realpages is not available")
    for m in pages:
        got = extract_article(m["url"] or "", m["path"].read_bytes())["xxgk"]
        for label, value in m["gold"]["_xxgk_meta"].items():
            assert got.get(label) == value, (m["file"], label)


def test_label_variants_and_footer_inside_the_only_wrapper() -> None:
    rec = extract("generic/label_variants_one_wrapper.html")
    # 发稿时间 with a weekday between date and time; 供稿单位 as the source.
    assert rec["published"] == "2025-01-06T10:30:00+08:00"
    assert rec["source"] == "县融媒体中心"
    assert rec["title"] == "县城新增两处口袋公园"
    # Everything sits in one wrapper: logo, menu, info line, share bar and footer links never reach the body.
    assert rec["body"].count("\n") == 2
    for junk in ("分享到", "网站地图", "版权所有", "阅读次数", "首页"):
        assert junk not in rec["body"]


def test_headline_and_info_line_inside_the_content_container() -> None:
    rec = extract("generic/zoom_wrapper_with_info.html")
    # The only exact headline is inside #zoom; the site-name logo link matching a <title> segment loses.
    assert rec["title"] == "街道开展冬季消防安全培训"
    # The info line inside the container is read for date and source, and (per the gold rule for what a
    # CMS puts in its container) stays in the body.
    assert (rec["published"], rec["source"]) == ("2025-01-06T09:20:00+08:00", "东湖街道")
    assert rec["body"].split("\n")[1] == "发布时间：2025-01-06 09:20 来源：东湖街道"


def test_regenerated_pubdate_meta_loses_to_the_url_date() -> None:
    rec = extract("trs/t20250106_4403003_regenerated.html")
    # Nothing displayed; PubDate equals the 页面生成时间 stamp of a regenerating CMS; t20250106_ keeps
    # the original date.
    assert rec["published"] == "2025-01-06"
    assert "打印" not in rec["body"] and rec["body"].startswith("各县（市、区）")


# ---- 政府信息公开 metadata blocks in any layout (issue 16, class 2)


def test_xxgk_stacked_and_two_column_copies_stay_out_of_the_body() -> None:
    rec = extract("xxgk/stacked_and_two_column.html")
    # A label row over a value row reads column by column; the commented-out copy is never read.
    assert rec["xxgk"]["发文机关"] == "示例县人民政府" and rec["xxgk"]["主题分类"] == "城乡建设、环境保护"
    assert (rec["written_date"], rec["published"]) == ("2025-02-10", "2025-02-14")
    assert rec["source"] == "示例县人民政府"  # no 来源: 发文机关
    assert "索引号" not in rec["body"] and "发文字号" not in rec["body"] and "2024-00999" not in rec["body"]
    assert rec["body"].startswith("各乡镇人民政府，县政府各部门：")


def test_xxgk_block_inside_the_content_container_is_not_body_text() -> None:
    rec = extract("xxgk/pairs_per_row_inside_body.html")
    assert rec["family"] == "trs"
    assert not any(lab in rec["body"] for lab in ("索引号", "索 引 号", "发文机关", "成文日期"))
    assert rec["xxgk"]["主题分类"] == "财政、金融、审计"  # several label/value pairs per row
    assert rec["doc_no"] == "示财采〔2025〕4号"


def test_xxgk_dl_and_span_lists_read_from_the_visible_copy() -> None:
    rec = extract("xxgk/dl_and_span_list_hidden_copy.html")
    assert rec["xxgk"]["公开方式"] == "主动公开"  # <li><span>label</span><span>value</span></li>
    assert rec["published"] == "2025-04-09" and rec["written_date"] == "2025-04-08"
    assert rec["source"] == "示例区卫生健康委员会"  # not the display:none copy's 示例区旧机构


def test_xxgk_span_runs_with_split_labels() -> None:
    rec = extract("xxgk/span_runs_twice.html")
    assert rec["index_no"] == "11320900MB4444444B/2025-00105"  # 索<i/>引<i/>号：
    assert rec["xxgk"]["有效性"] == "有效"  # 有 效 性：
    assert rec["issuer"] == rec["source"] == "示例县农业农村局"  # 发文单位


# ---- headlines split by markup (class 3)


def test_headline_split_by_a_div_is_whole_from_article_title() -> None:
    rec = extract("title/p_div_split_articletitle.html")
    assert rec["title"] == "守护一江清水——示例市推进长江支流生态修复工作综述"
    assert rec["source"] == "示例日报"  # "09:15来源：" from adjacent spans


def test_headline_split_by_a_div_is_whole_from_the_title_tag_minus_site() -> None:
    rec = extract("title/p_div_split_title_tag.html")
    assert rec["title"] == "小切口撬动大民生——示例区老旧小区加装电梯工作纪实"
    assert "——示例区老旧小区" not in rec["body"]


# ---- date semantics (class 4)


def test_table_publication_date_beats_url_date_and_regeneration_stamp() -> None:
    rec = extract("dates/table_date_beats_url_and_stamp.html")
    assert rec["published"] == "2025-04-22"  # URL says 20250421, PubDate/maketime 2025-09-01
    assert rec["written_date"] == "2025-04-20"


def test_fawen_date_is_published_and_chengwen_date_is_written() -> None:
    rec = extract("dates/info_line_fawen_date.html")
    assert (rec["published"], rec["written_date"]) == ("2025-05-28", "2025-05-26")
    rec = extract("xxgk/pairs_per_row_inside_body.html")  # 发文日期 in the table itself
    assert (rec["published"], rec["written_date"]) == ("2025-03-05", "2025-03-03")


def test_xxgk_alternate_label_spellings() -> None:
    # 索取号 for 索引号, 发布机关 for 发文机关, 成文时间/发文时间 for the dates, 所属主题, 文　　号 (U+3000 padding).
    rec = extract("xxgk/alternate_label_spellings.html")
    assert (rec["index_no"], rec["issuer"], rec["topic"]) == ("MB1C77777E/2025-00009", "示例市应急管理局", "安全生产监管")
    assert (rec["written_date"], rec["published"]) == ("2025-01-24", "2025-01-27")  # not the later PubDate meta
    assert rec["source"] == "示例市应急管理局" and "索 取 号" not in rec["body"]
