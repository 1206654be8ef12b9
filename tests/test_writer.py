"""The archive writer (crawler.writer) on a real SQLite file: every item kind, the run row, walk outcomes,
one connection; and the response checks (crawler.middlewares.response_check) on real Scrapy responses."""

from __future__ import annotations

import json

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.errors import PageRejected
from crawler.items import Article, AttachmentFile, CrawlError, ListingPage, Missing, NotModified, WalkEnded
from crawler.middlewares.response_check import ResponseCheckMiddleware
from crawler.sites import parse_site
from crawler.writer import ArchiveWriter
from tests.crawlkit import q

SITE = parse_site({"name": "w", "base_url": "http://a.test/", "sections": [{"name": "要闻", "url": "/yw/"}]}, "test")
URL = "http://a.test/art/1.html"


def record(body: str = "正文第一段。") -> dict:
    return {"url": URL, "site": "w", "title": "标题", "published": "2024-01-02", "body": body,
            "attachments": [{"url": "http://a.test/f/1.pdf", "text": "附件"}], "fetched_at": "2024-01-02T00:00:00Z"}


def writer_for(db) -> ArchiveWriter:
    return ArchiveWriter.of(get_crawler(settings_dict={"GOVNEWS_DB": str(db)}))


def test_every_item_kind_written_and_the_run_finished(tmp_path):
    db = tmp_path / "a.db"
    w = writer_for(db)
    assert ArchiveWriter.of(w.crawler) is w  # one per crawl
    state = w.open_run(SITE)
    assert state["archived"] == {} and w.run_id == 1
    w.write(ListingPage("要闻", "http://a.test/yw/", 1, [{"url": URL}]))
    w.write(Article("要闻", record()))
    w.write(AttachmentFile("要闻", "http://a.test/f/1.pdf", "ok", "application/pdf", 3, "ab" * 32))
    w.write(CrawlError("要闻", "http://a.test/art/2.html", "http_500", "article"))
    w.write(CrawlError("要闻", "http://evil.test/", "offsite_link", "article"))
    w.write(WalkEnded("要闻", "last page", complete=True, reached_end=True, listed={URL}))
    summary = w.finish_run("finished")
    w.close()
    assert summary["new"] == 1 and summary["failed"] == 1 and summary["attachments"] == 1
    assert summary["errors"] == {"http_500": 1, "offsite_link": 1}
    assert summary["sections"]["要闻"]["stop"] == "last page"
    assert q(db, "SELECT status, new, failed FROM crawl_runs") == [("partial", 1, 1)]
    assert json.loads(q(db, "SELECT sections FROM crawl_runs")[0][0])["要闻"]["stop"] == "last page"
    assert q(db, "SELECT walk_status FROM sections") == [("complete",)]
    assert q(db, "SELECT url, status FROM attachments") == [("http://a.test/f/1.pdf", "ok")]
    assert q(db, "SELECT url, kind, attempts FROM fetch_failures") == [("http://a.test/art/2.html", "http_500", 1)]


def test_a_second_run_not_modified_missing_and_an_unfinished_walk(tmp_path):
    db = tmp_path / "a.db"
    w = writer_for(db)
    w.open_run(SITE)
    w.write(ListingPage("要闻", "http://a.test/yw/", 1, [{"url": URL}]))
    w.write(Article("要闻", record()))
    w.finish_run("finished")
    w.close()
    w = writer_for(db)
    state = w.open_run(SITE)
    assert URL in state["archived"] and w.run_id == 2
    w.write(NotModified("要闻", URL))
    w.write(Missing("要闻", URL, 404, URL))
    summary = w.finish_run("shutdown")  # Ctrl-C: no WalkEnded came
    w.close()
    assert summary["not_modified"] == 1 and summary["unchanged"] == 1
    assert q(db, "SELECT status FROM crawl_runs WHERE id = 2") == [("interrupted",)]
    assert q(db, "SELECT walk_status FROM sections") == [("incomplete",)]  # walked to the end next time


def test_an_unknown_item_is_a_programming_error(tmp_path):
    w = writer_for(tmp_path / "a.db")
    w.open_run(SITE)
    with pytest.raises(TypeError, match="no rule for dict"):
        w.write({"kind": "article"})
    w.close()


def _response(body: bytes, ctype: str = "text/html; charset=utf-8", flags=None) -> HtmlResponse:
    request = Request(URL, meta={"govnews_kind": "article"})
    return HtmlResponse(URL, body=body, headers={"Content-Type": ctype}, request=request, flags=flags or [])


@pytest.mark.parametrize(("body", "ctype", "flags", "kind"), [
    (b"   \n", "text/html", None, "empty_body"),
    (b"<html><body><p>cut", "text/html", ["partial"], "truncated_body"),
    (b"%PDF-1.7 \x00\x01\x02", "text/html", None, "binary_as_html"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", None, "not_html_document"),
])
def test_response_checks_refuse_what_cannot_be_a_page(body, ctype, flags, kind):
    check = ResponseCheckMiddleware(get_crawler())
    with pytest.raises(PageRejected) as got:
        check.process_spider_input(_response(body, ctype, flags))
    assert got.value.kind == kind


def test_response_checks_pass_pages_and_known_answers():
    check = ResponseCheckMiddleware(get_crawler())
    assert check.process_spider_input(_response("<html><body><p>正文</p></body></html>".encode())) is None
    assert check.process_spider_input(_response(b"<html><p>ends</p></html>", flags=["partial"])) is None
    not_modified = HtmlResponse(URL, status=304, body=b"", request=Request(URL, meta={"govnews_kind": "article"}))
    assert check.process_spider_input(not_modified) is None
