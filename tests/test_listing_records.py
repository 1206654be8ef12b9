"""JSON listing records recognised by their values (crawler/listing/records.py), whatever the keys."""

from __future__ import annotations

import json

from crawler.listing import extract_listing
from crawler.listing.probe import describe
from crawler.listing.records import find_fields, flatten

URL = "http://www.example-api.gov.cn/api/list?page=1"


def _listing(doc: object, **hints) -> dict:
    return extract_listing(URL, json.dumps(doc, ensure_ascii=False).encode("utf-8"), None, hints or None)


def _recs(n: int = 4, **extra) -> list[dict]:
    return [{"A1": f"/art/2025/1/{i + 1}/art_7_{100 + i}.html", "A2": f"示例区关于第{i + 1}批惠民项目的公示",
             **{k: (v(i) if callable(v) else v) for k, v in extra.items()}} for i in range(n)]


def test_publication_date_preferred_over_written_date_whatever_the_key_order() -> None:
    doc = {"rows": _recs(CWRQ=lambda i: f"2025-01-0{i + 1}", FBRQ=lambda i: f"2025-02-0{i + 1}")}
    got = _listing(doc)
    assert got["fields"]["date"] == "FBRQ" and got["fields"]["dates"] == ["FBRQ", "CWRQ"]
    assert [i["date"] for i in got["items"]] == ["2025-02-01", "2025-02-02", "2025-02-03", "2025-02-04"]


def test_english_release_date_beats_create_and_update_times() -> None:
    doc = {"result": {"items": _recs(updateTime=lambda i: f"2025-03-0{i + 1} 08:00:00",
                                     createTime=lambda i: f"2025-01-0{i + 1} 08:00:00",
                                     releaseDate=lambda i: f"2025-02-0{i + 1}")}}
    assert _listing(doc)["fields"]["dates"] == ["releaseDate", "createTime", "updateTime"]


def test_title_is_the_distinct_headline_not_publisher_doc_number_or_summary() -> None:
    doc = {"data": _recs(P="示例区人民政府办公室", N=lambda i: f"示政发〔2025〕{i}号",
                         S=lambda i: f"为进一步做好惠民项目建设工作，根据有关规定，现将第{i}批项目予以公示，公示期为五个工作日，欢迎监督。")}
    assert _listing(doc)["fields"]["title"] == "A2"


def test_attachment_arrays_inside_records_are_not_items() -> None:
    doc = {"data": {"list": _recs(fj=lambda i: [{"url": f"/files/{i}.pdf", "name": f"附件{i}：项目清单.pdf"}])}}
    got = _listing(doc)
    assert [i["url"].rsplit("/", 1)[-1] for i in got["items"]] == [f"art_7_{100 + i}.html" for i in range(4)]


def test_image_and_column_links_are_not_the_item_url() -> None:
    recs = _recs(pic=lambda i: f"/images/{i}.jpg", chnlUrl="/col/col7/index.html")
    for r in recs:
        r["A1"] = r["A1"].replace(".html", ".shtml")
    fields = find_fields([flatten(r) for r in recs])
    assert fields is not None and fields.url == "A1"


def test_non_article_arrays_give_no_items() -> None:
    doc = {"data": [{"code": "A", "count": 3}, {"code": "B", "count": 4}], "menu": [{"name": "首页", "id": 1}]}
    got = _listing(doc)
    assert got["items"] == [] and got["mechanism"] == "json" and got["fields"] is None


def test_epoch_numbers_are_dates_only_under_a_date_like_key() -> None:
    recs = _recs(id=lambda i: 1736000000 + i, pubTime=lambda i: 1736121600000 + i)
    fields = find_fields([flatten(r) for r in recs])
    assert fields is not None and fields.dates == ["pubTime"]


def test_site_json_fields_override_and_url_template() -> None:
    recs = [{"ID": 500 + i, "MC": f"示例区第{i}次常务会议纪要", "T1": f"2025-04-0{i + 1}", "T2": f"2025-05-0{i + 1}"}
            for i in range(3)]
    got = _listing({"data": recs}, json_fields={"url": "/xxgk/{ID}.html", "title": "MC", "date": "T1"})
    assert [i["url"] for i in got["items"]][:1] == ["http://www.example-api.gov.cn/xxgk/500.html"]
    assert [i["date"] for i in got["items"]] == ["2025-04-01", "2025-04-02", "2025-04-03"]
    assert got["fields"]["url"] == "/xxgk/{ID}.html"


def test_probe_summary_names_the_fields_used() -> None:
    doc = {"rows": _recs(CWRQ=lambda i: f"2025-01-0{i + 1}", FBRQ=lambda i: f"2025-02-0{i + 1}")}
    text = describe({"url": URL, "status": None, "encoding": "utf-8", **_listing(doc)})
    assert "fields:      url=A1 title=A2 date=FBRQ (dates: FBRQ, CWRQ)" in text
