"""extract_article never raises, whatever bytes a server sends (the crawler calls it on every 200)."""

from __future__ import annotations

import random

import pytest

from crawler.extract import extract_article

KEYS = {"url", "title", "published", "source", "author", "body", "breadcrumb", "attachments", "images",
        "written_date", "index_no", "doc_no", "issuer", "topic", "xxgk", "encoding", "content_hash"}

ODD_PAGES = {
    "empty": b"",
    "whitespace": b"  \r\n\t ",
    "json": '{"title": "不是网页"}'.encode(),
    "xml_with_declaration": b'<?xml version="1.0" encoding="gbk"?><datastore><record>x</record></datastore>',
    "js_shell": b"<html><head><title>x</title><script>load()</script></head><body><div id=app></div></body></html>",
    "random_bytes": bytes(random.Random(7).randrange(256) for _ in range(4000)),
    "very_deep": b"<div>" * 6000 + "正文".encode() + b"</div>" * 6000,
    "no_body": b"<html><head><title>t</title></head></html>",
    "frameset": b'<html><frameset><frame src="a.html"></frameset></html>',
    "plain_text": "只有一段文字，没有任何标签。".encode("gbk"),
    "pdf_bytes": b"%PDF-1.4\n1 0 obj<<>>endobj\n",
    "markers_only": b"<!--ZJEG_RSS.content.begin--><!--ZJEG_RSS.content.end-->",
    "markers_in_different_parents": "<html><body><div><!--ZJEG_RSS.content.begin--><p>第一段正文内容，写得足够长。</p>"
                                    "</div><div><p>第二段。</p><!--ZJEG_RSS.content.end--></div></body></html>".encode(),
    "nul_bytes": b"<html><body><p>a\x00b</p></body></html>",
    "unclosed_everything": "<html><body><div><p>正文没有闭合<table><tr><td>格子".encode(),
}


@pytest.mark.parametrize("name", sorted(ODD_PAGES))
def test_odd_input_never_raises(name: str) -> None:
    rec = extract_article("http://www.example.gov.cn/a/t20250106_1.html", ODD_PAGES[name],
                          {"Content-Type": "text/html; charset=nonsense"}, {"body": "#nothing", "title": "h9"})
    assert KEYS <= set(rec)
    assert isinstance(rec["body"], str) and isinstance(rec["attachments"], list)


def test_deep_markup_keeps_its_text() -> None:
    # 1500 levels: deeper than Python's default recursion limit, within what libxml2 keeps (~2000).
    rec = extract_article("http://x.gov.cn/a.html", b"<div>" * 1500 + "正文内容在这里。".encode() + b"</div>" * 1500)
    assert "正文内容在这里。" in rec["body"]
