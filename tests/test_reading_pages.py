"""The articles table page reads like a news archive, and the changes page lists what happened — checked in
a real headless Chromium by DOM assertions (the screenshots are kept beside the test's files, not compared)."""

from __future__ import annotations

import sys
import urllib.request

from datasette.utils import tilde_encode

from archive.store import Archive
from tests.test_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.test_datasette_search import start_server, stop
from tests.test_diffs import edited_archive  # noqa: F401  (fixture-edits crawled, second edition twice)

DEFAULT_HEADERS = ["title 标题", "published 发布日期", "site 站点", "section 栏目", "source 来源", "excerpt 摘要"]


def test_table_page_default_columns_links_lists_and_facets(edited_archive, browser, tmp_path):  # noqa: F811
    db, urls = edited_archive
    with Archive(db) as archive:  # hostile text in a title must show as text
        archive.save_article({"url": "https://h.gov.cn/x.html", "site": "fixture-edits", "title": "<script>alert(1)</script>标题",
                              "published": "2025-02-28", "body": "<b>正文</b>第一段。\n第二段。", "content_hash": "x",
                              "attachments": []})
    proc, base = start_server([sys.executable, "-m", "archive.cli", "serve", "--db", str(db)])
    try:
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/{db.stem}/articles")
        page.screenshot(path=str(tmp_path / "table.png"), full_page=True)
        headers = [h.strip() for h in page.locator("table.rows-and-columns thead th").all_inner_texts()]
        assert [h.replace("\u00a0▲", "").replace("\u00a0▼", "").strip() for h in headers] == DEFAULT_HEADERS
        rows = page.locator("table.rows-and-columns tbody tr")
        assert rows.count() == 10  # 9 fixture articles and the hostile one
        # Titles link to the article page; the excerpt is short; no column shows a whole body.
        first = rows.first
        link = first.locator("td.col-title a")
        assert link.inner_text() == "<script>alert(1)</script>标题" and dialogs == []
        assert link.get_attribute("href") == f"/{db.stem}/articles/{tilde_encode('https://h.gov.cn/x.html')}"
        assert first.locator("td.col-excerpt").inner_text() == "<b>正文</b>第一段。 第二段。"
        for text in page.locator("td.col-excerpt").all_inner_texts():
            assert len(text) <= 81
        assert page.locator("td.col-body, td.col-content_hash, td.col-warc_file").count() == 0
        # Facets only with values, each once: gone shows here (one article is gone) ...
        facets = page.locator(".facet-info").evaluate_all("els => els.map(e => e.dataset.column)")
        assert len(facets) == len(set(facets)) and "gone" in facets
        # ... but not for a search whose hits are all online ("0" alone says nothing); ?_facet=year once.
        page.goto(f"{base}/{db.stem}/articles?_facet=year&_search=%E6%94%BF%E5%8D%8F")
        facets = page.locator(".facet-info").evaluate_all("els => els.map(e => e.dataset.column)")
        assert facets.count("year") == 1 and "gone" not in facets and "site" in facets
        assert page.locator("td.col-excerpt mark").first.inner_text() == "政协"

        # Following the title opens the article.
        page.goto(f"{base}/{db.stem}/articles?site=fixture-edits&_sort_desc=published")
        page.locator("td.col-title a").first.click()
        page.wait_for_load_state()
        assert page.locator("article.govnews-article h1").inner_text() == "<script>alert(1)</script>标题"

        # Asked for, every column is there (and sections read as a list).
        page.goto(f"{base}/{db.stem}/articles?_col=title&_col=sections&_col=body")
        cols = page.locator("table.rows-and-columns thead th").evaluate_all("els => els.map(e => e.dataset.column)")
        assert cols == ["url", "title", "sections", "body"]
        assert page.locator("td.col-sections ul.govnews-list li").first.inner_text() == "政策文件"
        assert "第二段。" in page.locator("td.col-body").first.inner_text()
        # The downloads of the reading page carry every column.
        page.goto(f"{base}/{db.stem}/articles")
        href = page.locator("p.export-links a", has_text="CSV").last.get_attribute("href")
        header = urllib.request.urlopen(base + href).read().decode("utf-8-sig").splitlines()[0]
        assert "body" in header and "content_hash" in header

        # The changes page: newest first, the take-down and the four edits, each edit linking to its diff.
        page.goto(f"{base}/{db.stem}/changes")
        page.screenshot(path=str(tmp_path / "changes.png"), full_page=True)
        assert page.title().startswith("Latest changes · 最新变动")
        kinds = page.locator("td.col-change").all_inner_texts()
        # The hostile article was archived last; then the second edition's take-down (third run), then its
        # four edits (second run, where a new article may share their second).
        assert kinds[0] == "new 新收录"
        assert [k for k in kinds if k != "new 新收录"] == ["gone 下线"] + ["changed 改动"] * 4
        sizes = [s for k, s in zip(kinds, page.locator("td.col-size").all_inner_texts(), strict=True)
                 if k == "changed 改动"]
        assert sorted(int(s) for s in sizes) == [1, 1, 4, 32]  # 有效性, the attachment, title+issuer, the edit
        titles = page.locator("td.col-title").all_inner_texts()
        assert "<script>alert(1)</script>标题" in titles and dialogs == []
        page.locator("td.col-change a").first.click()
        page.wait_for_load_state()
        assert page.locator("#govnews-diff").count() == 1
        assert "?from=1&to=2" in page.url
    finally:
        stop(proc)
