"""What changed: paragraph and character diffs, fields and attachments, on the article page.

The end-to-end part crawls fixtures/sites/edits.py twice over HTTP (its second edition edits, re-files and
retracts articles and changes every page's visit counter and generation stamp) and reads the diffs from
the Datasette article page.
"""

from __future__ import annotations

import re
import sys
import urllib.request

import pytest
from datasette.utils import tilde_encode

from archive.diff import Collapsed, diff_versions
from archive.store import Archive
from fixtures.server import FixtureServer
from fixtures.sites.edits import EditsSite, article_path
from tests.crawlkit import crawl, q
from tests.test_datasette_search import start_server, stop

EDITS = "fixture-edits"


def test_paragraph_diff_with_character_marks():
    old = {"body": "第一段。\n第二段，开放时间为周五至周日。\n第三段。\n第四段。\n第五段。\n第六段。"}
    new = {"body": "第一段。\n第二段，开放时间为周四至周日。\n第三段。\n第四段。\n第五段。\n第六段。\n新增的第七段。"}
    d = diff_versions(old, new)
    kinds = [p.kind for p in d.paragraphs]
    assert kinds == ["same", "changed", "same", "same", "same", "same", "added"]
    changed = d.paragraphs[1]
    assert [(g.op, g.text) for g in changed.segments] == [
        ("equal", "第二段，开放时间为周"), ("delete", "五"), ("insert", "四"), ("equal", "至周日。")]
    s = d.summary
    assert (s.paragraphs_added, s.paragraphs_removed, s.paragraphs_changed) == (1, 0, 1)
    assert (s.chars_added, s.chars_removed) == (1 + len("新增的第七段。"), 1)
    assert str(s) == "paragraphs +1 −0 ~1, characters +8 −1"
    # One paragraph of context around each change; the rest collapsed into a count.
    blocks = d.blocks(context=1)
    shown = [b.count if isinstance(b, Collapsed) else b.kind for b in blocks]
    assert shown == ["same", "changed", "same", 2, "same", "added"]


def test_unlike_paragraphs_are_removed_and_added_not_edited():
    d = diff_versions({"body": "甲乙丙丁戊己庚辛"}, {"body": "完全不同的一句话"})
    assert [p.kind for p in d.paragraphs] == ["removed", "added"]


def test_fields_xxgk_and_attachments():
    old = {"title": "通知", "source": "市政府办公室", "xxgk": '{"索引号": "1", "有效性": "有效"}',
           "attachments": '[{"url": "http://a/P01.pdf", "text": "计划表.pdf"}, {"url": "http://a/P02.pdf", "text": "名单"}]'}
    new = {"title": "补充通知", "source": "市政府办公室", "xxgk": '{"索引号": "1", "有效性": "失效"}',
           "attachments": '[{"url": "http://a/P01_v2.pdf", "text": "计划表.pdf"}, {"url": "http://a/P03.pdf", "text": "说明"}]'}
    d = diff_versions(old, new)
    assert [(f.name, f.old, f.new) for f in d.fields] == [("title", "通知", "补充通知"), ("xxgk.有效性", "有效", "失效")]
    assert [(a.kind, a.old_url, a.new_url) for a in d.attachments] == [
        ("replaced", "http://a/P01.pdf", "http://a/P01_v2.pdf"), ("removed", "http://a/P02.pdf", None),
        ("added", None, "http://a/P03.pdf")]
    assert not any(p.kind != "same" for p in d.paragraphs)
    # A version from before the xxgk table was kept (NULL) does not show every field as added.
    assert diff_versions({"xxgk": None}, {"xxgk": '{"有效性": "有效"}'}).fields == []


@pytest.fixture(scope="module")
def edited_archive(tmp_path_factory):
    """fixture-edits crawled, then its second edition crawled twice with --refresh (gone after two misses)."""
    db = tmp_path_factory.mktemp("edits") / "edits.db"
    with FixtureServer([EditsSite()]) as server:
        site = server.sites[EDITS]
        crawl(server, EDITS, db)
        first_edition = {d.id: article_path(d) for d in site.docs.values()}
        site.second_edition()
        crawl(server, EDITS, db, "--refresh")
        crawl(server, EDITS, db, "--refresh")
        base = site.base_url.rstrip("/")
    return db, {i: base + p for i, p in first_edition.items()} | {"7000009": base + article_path(site.docs["7000009"])}


def test_second_edition_makes_versions_only_for_real_changes(edited_archive):
    db, urls = edited_archive
    versions = dict(q(db, "SELECT article_url, max(version) FROM article_versions GROUP BY article_url"))
    by_id = {i: versions.get(u) for i, u in urls.items()}
    assert by_id == {"7000001": 1, "7000002": 2, "7000003": 2, "7000004": 2, "7000005": 2, "7000006": 1,
                     "7000007": 1, "7000008": 1, "7000009": 1}
    # The noise-only pages were fetched again in full (their bytes changed: counter, generation stamp) ...
    for i in ("7000001", "7000007", "7000008"):
        digests = {r[0] for r in q(db, "SELECT payload_digest FROM captures WHERE url = ? AND status = 200", [urls[i]])}
        assert len(digests) == 2, (i, digests)  # first and second edition (the third run: 304)
    # ... and made no version. The retracted one is gone, not deleted.
    gone = q(db, "SELECT gone_at FROM articles WHERE url = ?", [urls["7000006"]])[0][0]
    assert gone is not None
    assert q(db, "SELECT xxgk FROM article_versions WHERE article_url = ? AND version = 2", [urls["7000003"]])[0][0] \
        .find('"有效性": "失效"') >= 0


@pytest.fixture(scope="module")
def served_edits(edited_archive):
    db, urls = edited_archive
    proc, base = start_server([sys.executable, "-m", "archive.cli", "serve", "--db", str(db)])
    yield f"{base}/{db.stem}", urls
    stop(proc)


def article_page(served, url: str, query: str = "") -> str:
    dbase, _ = served
    return urllib.request.urlopen(f"{dbase}/articles/{tilde_encode(url)}{query}").read().decode()


def diff_section(page: str) -> str:
    m = re.search(r'<section class="govnews-diff" id="govnews-diff">(.*?)</section>', page, re.S)
    assert m, "no What changed block"
    return m.group(1)


def paragraphs_of(section: str) -> list[tuple[str, str]]:
    return re.findall(r'<p class="govnews-para para-(\w+)">(.*?)</p>', section, re.S)


def test_article_page_shows_exactly_the_edited_paragraphs(served_edits):
    _, urls = served_edits
    s = diff_section(article_page(served_edits, urls["7000002"]))
    assert "<h2>What changed 改动对比</h2>" in s
    paras = paragraphs_of(s)
    # p1 context, p2 edited, p3 context, p4 (next to the added p5) context, p5 added.
    assert [k for k, _ in paras] == ["same", "changed", "same", "same", "added"]
    changed = dict(paras)["changed"]
    dels = "".join(re.findall(r"<del>(.*?)</del>", changed))
    ins = "".join(re.findall(r"<ins>(.*?)</ins>", changed))
    plain_old = re.sub(r"<ins>.*?</ins>|</?del>", "", changed)
    plain_new = re.sub(r"<del>.*?</del>|</?ins>", "", changed)
    assert plain_old == "延时开放时间为每周五至周日十八时至二十一时，法定节假日另行公告。"
    assert plain_new == "延时开放时间调整为每周四至周日十八时至二十一时三十分，法定节假日另行公告。"
    assert dels and ins and len(dels) < 5 and len(ins) < 8
    assert dict(paras)["added"] == "<ins>延时开放期间，各场馆公益讲座和展览免费向公众开放。</ins>"
    assert "govnews-diff-fields" not in s and "govnews-diff-attachments" not in s
    assert "v1 (" in s and "→ v2 (" in s


def test_field_and_attachment_changes(served_edits):
    _, urls = served_edits
    s = diff_section(article_page(served_edits, urls["7000003"]))
    rows = re.findall(r'<tr class="field-change" data-field="([^"]+)"><th>[^<]*</th><td>(.*?)</td><td>(.*?)</td></tr>', s)
    assert rows == [("xxgk.有效性", "<del>有效</del>", "<ins>失效</ins>")]
    assert all(k == "collapsed" for k, _ in paragraphs_of(s))  # no paragraph changed: one collapsed run
    s = diff_section(article_page(served_edits, urls["7000004"]))
    items = re.findall(r'<li class="attachment-(\w+)">', s)
    assert items == ["replaced"]
    assert "P02025zdxm.pdf</code></del> → <ins><code>" in s and "P02025zdxm_tz.pdf" in s
    s = diff_section(article_page(served_edits, urls["7000005"]))
    names = re.findall(r'data-field="([^"]+)"', s)
    assert names[0] == "title" and "xxgk.发文机关" in names and "xxgk.标题" in names
    # An unchanged article has no diff block.
    assert 'id="govnews-diff"' not in article_page(served_edits, urls["7000001"])


def test_any_pair_of_versions_and_a_bad_pair(served_edits):
    _, urls = served_edits
    s = diff_section(article_page(served_edits, urls["7000002"], "?from=1&to=2"))
    assert "v1 (" in s and "para-changed" in s
    s = diff_section(article_page(served_edits, urls["7000002"], "?from=2&to=1"))
    assert "v2 (" in s and "→ v1 (" in s  # the other way round: the addition shows as a removal
    assert [k for k, _ in paragraphs_of(s)][-1] == "removed"
    s = diff_section(article_page(served_edits, urls["7000002"], "?from=7&to=x"))
    assert "No such pair of versions" in s and "→ v2 (" in s


def test_archived_script_in_a_diff_stays_text(tmp_path):
    db = tmp_path / "h.db"
    url = "https://h.gov.cn/1.html"
    with Archive(db) as archive:
        base = {"url": url, "site": "h", "title": "<script>alert(1)</script>通知", "published": "2025-01-01",
                "attachments": []}
        archive.save_article({**base, "body": "第一段<b>粗体</b>。\n<script>alert(2)</script>", "content_hash": "1"})
        archive.save_article({**base, "title": "<img src=x onerror=alert(3)>通知",
                              "body": "第一段<b>粗体</b>，改。\n<script>alert(4)</script>", "content_hash": "2"})
    proc, base_url = start_server([sys.executable, "-m", "archive.cli", "serve", "--db", str(db)])
    try:
        page = urllib.request.urlopen(f"{base_url}/h/articles/{tilde_encode(url)}").read().decode()
    finally:
        stop(proc)
    s = diff_section(page)
    assert "<script>" not in s and "<img" not in s and "<b>" not in s
    assert "&lt;img src=x onerror=alert(3)&gt;" in s  # the new title, in the field table
    assert "&lt;script&gt;alert(<del>2</del><ins>4</ins>)&lt;/script&gt;" in s
    assert "第一段&lt;b&gt;粗体&lt;/b&gt;" in s
