"""Small listing shapes the generic finder and pager must get right (inline pages, our own text)."""

from __future__ import annotations

from crawler.listing import extract_listing

URL = "http://www.example.gov.cn/xwzx/gzdt/index.html"


def _page(body: str) -> bytes:
    nav = "".join(f'<li><a href="/lm{i}/">栏目{i}</a></li>' for i in range(8))
    return f"""<html><head><meta charset="utf-8"><title>工作动态</title></head><body>
<div class="nav"><ul>{nav}</ul></div><div class="topbar">今天是2024年6月1日 星期六</div>
<div class="main">{body}</div>
<div class="footer"><a href="http://www.gov.cn/">中国政府网</a> 版权所有 2024-06-01</div></body></html>""".encode()


def _rows(n: int, fmt: str) -> str:
    return "".join(fmt.format(i=i, d=10 + i) for i in range(n))


def test_category_label_links_do_not_break_rows() -> None:
    rows = _rows(5, '<li><a class="lm" href="/bmdt/">[部门动态]</a><a href="/bmdt/2024/t202405{d}_{i}.html">'
                    '市交通运输局部署第{i}季度道路安全检查工作</a><span>2024-05-{d}</span></li>')
    got = extract_listing(URL, _page(f'<ul class="list">{rows}</ul>'))
    assert [i["url"] for i in got["items"]] == [
        f"http://www.example.gov.cn/bmdt/2024/t202405{10 + i}_{i}.html" for i in range(5)]
    assert got["items"][0]["title"] == "市交通运输局部署第0季度道路安全检查工作"


def test_month_day_dates_take_the_year_from_the_url() -> None:
    rows = _rows(6, '<li><a href="/gzdt/2023/05/{d}/content_{i}.htm">市农业农村局召开夏粮收购第{i}次调度会议</a>'
                    '<span>05-{d}</span></li>')
    got = extract_listing(URL, _page(f'<ul class="list">{rows}</ul>'))
    assert len(got["items"]) == 6
    assert got["items"][0]["date"] == "2023-05-10"


def test_side_box_with_full_dates_loses_to_the_main_list() -> None:
    main = _rows(4, '<li><a href="/gzdt/a{i}.html">市人社局开展第{i}批职业技能等级认定工作</a><span>[06-{d}]</span></li>')
    side = _rows(5, '<li><a href="/rd/b{i}.html">热点：市政府常务会议研究第{i}项民生工程</a><span>2024-05-{d}</span></li>')
    page = _page(f'<div class="left"><ul class="newslist">{main}</ul></div>'
                 f'<div class="right-box"><h3>热点排行</h3><ul>{side}</ul></div>')
    got = extract_listing(URL.replace("index.html", "2024/index.html"), page)
    assert [i["url"].rsplit("/", 1)[1] for i in got["items"]] == [f"a{i}.html" for i in range(4)]


def test_whole_row_inside_the_link() -> None:
    rows = _rows(5, '<a class="row" href="/gzdt/c{i}.html"><span class="t">示例区召开第{i}次城市管理联席会议</span>'
                    '<span class="d">2024-04-{d}</span></a>')
    got = extract_listing(URL, _page(f'<div class="list">{rows}</div>'))
    assert [i["title"] for i in got["items"]][0] == "示例区召开第0次城市管理联席会议"
    assert got["items"][4]["date"] == "2024-04-14"


def test_image_next_link_and_bracketed_next() -> None:
    rows = _rows(3, '<li><a href="/gzdt/d{i}.html">示例市召开第{i}次安全生产委员会全体会议</a><em>2024-03-{d}</em></li>')
    img = _page(f'<ul>{rows}</ul><div class="pg"><a href="index_1.html"><img src="/i/n.gif" alt="下一页"></a></div>')
    assert extract_listing(URL, img)["next_page"] == "http://www.example.gov.cn/xwzx/gzdt/index_1.html"
    br = _page(f'<ul>{rows}</ul><div class="pg"><a href="index_1.html">[下一页]</a></div>')
    assert extract_listing(URL, br)["next_page"] == "http://www.example.gov.cn/xwzx/gzdt/index_1.html"


def test_navigation_only_page_has_no_items() -> None:
    got = extract_listing(URL, _page("<p>本栏目暂无信息。</p>"))
    assert got["items"] == [] and got["next_page"] is None


def test_script_only_page_is_a_shell() -> None:
    body = b'<html><head><script src="/a.js"></script></head><body><div id="app"></div><script>boot()</script></body></html>'
    got = extract_listing(URL, body)
    assert got["items"] == [] and got["mechanism"] == "js-shell" and got["shell"]


def test_anti_bot_status_is_reported() -> None:
    got = extract_listing(URL, b"<html><body><script>var $_ts={};</script></body></html>", hints={"status": 412})
    assert got["shell"] == "HTTP 412 anti-bot challenge"


def test_gbk_bytes_are_decoded() -> None:
    rows = _rows(3, '<li><a href="/gzdt/e{i}.html">示例县召开第{i}次防汛抗旱工作会议</a><span>2024-07-{d}</span></li>')
    body = _page(f"<ul>{rows}</ul>").decode().replace('charset="utf-8"', 'charset="gbk"').encode("gbk")
    got = extract_listing(URL, body, {"Content-Type": "text/html; charset=gbk"})
    assert got["items"][2]["title"] == "示例县召开第2次防汛抗旱工作会议" and got["encoding"] == "gb18030"


def test_trs_static_json_with_upper_case_keys() -> None:
    import json

    body = json.dumps([
        {"TITLE": "示例市召开城市更新工作推进会", "URL": "./202401/content_101.htm", "DOCRELPUBTIME": "2024-01-05 09:30"},
        {"TITLE": "示例市部署春节前安全生产检查", "URL": "./202401/content_100.htm", "DOCRELPUBTIME": "2024-01-04"},
    ], ensure_ascii=False).encode()
    got = extract_listing("http://www.example.gov.cn/yaowen/liebiao/LIEBIAO.json", body)
    assert got["mechanism"] == "json-records"
    assert [(i["url"], i["date"]) for i in got["items"]] == [
        ("http://www.example.gov.cn/yaowen/liebiao/202401/content_101.htm", "2024-01-05"),
        ("http://www.example.gov.cn/yaowen/liebiao/202401/content_100.htm", "2024-01-04")]


def test_hanweb_datastore_printed_escaped() -> None:
    recs = "".join(f"&lt;record&gt;&lt;![CDATA[&lt;li&gt;&lt;a href=\"/art/2024/3/{d}/art_60096_{d}.html\"&gt;"
                   f"示例省政府召开第{d}次常务会议研究部署重点工作&lt;/a&gt;&lt;span&gt;2024-03-{d}&lt;/span&gt;&lt;/li&gt;]]&gt;&lt;/record&gt;"
                   for d in (12, 11, 10))
    body = f"<html><body><div id='1'>&lt;datastore&gt;&lt;recordset&gt;{recs}&lt;/recordset&gt;&lt;/datastore&gt;</div></body></html>"
    got = extract_listing("http://www.example.gov.cn/col/col60096/index.html", body.encode())
    assert [i["date"] for i in got["items"]] == ["2024-03-12", "2024-03-11", "2024-03-10"]
