"""Attachment text (issue 19): every format extracted after a real crawl, searched exactly, versioned,
failures recorded without touching the crawl, bounded workers, OCR of a scan, escaped on the article page."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from archive.attachments import formats
from archive.attachments.bounded import Limits, run_worker
from archive.search import count_matches, search
from fixtures import documents
from fixtures.server import FixtureServer
from fixtures.sites.docs import DOCS, DocsSite, scan_lines
from tests.conftest import govnews

pytestmark = pytest.mark.skipif(not documents.have_font(), reason="no CJK font (Debian: fonts-wqy-microhei)")


def ocr_missing() -> str | None:
    from archive.attachments.cli import ocr_available

    return ocr_available("chi_sim")


def crawl(site, db: Path, *args: str):
    return govnews("crawl", "--site", site.name, "--base-url", site.base_url, "--db", str(db), "--log-level",
                   "WARNING", *args)


@pytest.fixture(scope="module")
def docs_archive(tmp_path_factory):
    """The documents site crawled once, then its attachments extracted (OCR on when Tesseract is here)."""
    db = tmp_path_factory.mktemp("attachments") / "archive.db"
    with FixtureServer([DocsSite()]) as server:
        site = server.sites["fixture-docs"]
        done = crawl(site, db)
        ocr = [] if ocr_missing() else ["--ocr"]
        extract = govnews("attachments", "extract", "--db", str(db), *ocr)
        yield {"db": db, "site": site, "crawl": done, "extract": extract, "ocr": bool(ocr)}


def rows(db: Path) -> dict[str, dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return {r["url"].rsplit("/P0", 1)[1]: dict(r) for r in conn.execute("SELECT * FROM attachment_text")}
    finally:
        conn.close()


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def test_every_format_is_extracted_after_the_crawl(docs_archive):
    assert docs_archive["crawl"].returncode == 0, docs_archive["crawl"].stdout + docs_archive["crawl"].stderr
    assert "fixture-docs: ok" in docs_archive["crawl"].stdout
    got = rows(docs_archive["db"])
    site = docs_archive["site"]
    assert set(got) == {d.name for d in DOCS}
    for d in DOCS:
        row = got[d.name]
        if d.kind in ("corrupt", "big", "scan"):
            continue
        assert row["status"] == "ok" and row["method"] == "text-layer" and row["current"] == 1, row
        assert row["format"] == d.kind, row
        text = squeeze(row["text"])
        assert row["characters"] == len(row["text"])
        if d.kind in ("xlsx", "xls"):  # a table: its sheet's name, header, cells (numbers too)
            cells = ("资金安排表", "项目名称", f"{d.topic}项目3", "500", squeeze(site.expected_text(d.name)[2][:20]))
            assert all(s in text for s in cells), row["text"]
            continue
        for line in site.expected_text(d.name):
            assert squeeze(line) in text, (d.name, line, row["text"])
    assert got["2025czzj01.pdf"]["pages"] == 1 and got["2025czzj06.ofd"]["pages"] == 2


def test_a_corrupt_pdf_and_a_200_mb_file_are_failures_with_reasons_and_the_crawl_is_unaffected(docs_archive):
    db, site = docs_archive["db"], docs_archive["site"]
    got = rows(db)
    corrupt, big = got["2025czzj08.pdf"], got["2025czzj09.pdf"]
    assert corrupt["status"] == "failed" and corrupt["method"] == "none"
    assert corrupt["errors"].startswith("not a readable PDF"), corrupt
    assert big["status"] == "failed" and "not downloaded" in big["errors"] and "attachment-max-size" in big["errors"]
    conn = sqlite3.connect(db)
    # The crawl archived every article and every other file; the big one was refused on its headers.
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == len(DOCS)
    statuses = dict(conn.execute("SELECT substr(url, instr(url, '/P0') + 3), status FROM attachments"))
    assert statuses.pop("2025czzj09.pdf") == "too_large" and set(statuses.values()) == {"ok"}
    run = conn.execute("SELECT status, failed, bytes FROM crawl_runs").fetchone()
    assert run[0] == "ok" and run[1] == 0 and run[2] < 10 * 1024 * 1024
    assert any(r.path.endswith("P02025czzj09.pdf") for r in site.requests)
    # The follow-up command says some files failed (exit 1) and how many.
    assert docs_archive["extract"].returncode == 1
    assert "2 failed" in docs_archive["extract"].stdout


def reference_count(conn: sqlite3.Connection, q: str) -> tuple[int, int]:
    """(articles containing q in title, body or a current attachment text; those with it only in an attachment)."""
    attached = ("EXISTS (SELECT 1 FROM attachments x JOIN attachment_text t ON t.url = x.url AND t.current = 1 "
                "WHERE x.article_url = a.url AND instr(t.text, :q) > 0)")
    own = "(instr(a.title, :q) > 0 OR instr(a.body, :q) > 0)"
    return conn.execute(f"SELECT count(*) FILTER (WHERE {own} OR {attached}), count(*) FILTER (WHERE NOT {own} "
                        f"AND {attached}) FROM articles a", {"q": q}).fetchone()


@pytest.mark.parametrize("q", ["资", "资金", "专项资金", "绩效评价", "台账", "市"])
def test_search_counts_attachment_text_exactly(docs_archive, q):
    conn = sqlite3.connect(docs_archive["db"])
    total, only_attached = reference_count(conn, q)
    assert count_matches(conn, q) == total
    assert len(list(search(conn, q, limit=1000))) == total
    if q != "市":  # the words of the files, not of the pages
        assert only_attached > 0 and only_attached == total, q


def test_a_hit_in_an_attachment_says_so_in_the_snippet(docs_archive):
    done = govnews("search", "绩效评价", "--db", str(docs_archive["db"]), "--limit", "3")
    assert done.returncode == 0, done.stderr
    snippets = [line.strip() for line in done.stdout.splitlines() if line.startswith("    附件")]
    assert len(snippets) == 3 and all("[绩效评价]" in s for s in snippets), done.stdout
    assert "附件 attachment 《附件：" in snippets[0]


def test_datasette_search_page_and_article_page(docs_archive, datasette_server):
    db = docs_archive["db"]
    base = datasette_server(db) + f"/{db.stem}"
    conn = sqlite3.connect(db)
    for q in ("资", "专项资金"):
        expected = reference_count(conn, q)[0]
        url = f"{base}/articles.json?_shape=objects&_size=max&" + urllib.parse.urlencode({"_search": q})
        page = json.load(urllib.request.urlopen(url))
        assert len(page["rows"]) == expected and page["filtered_table_rows_count"] == expected, q
    hits = json.load(urllib.request.urlopen(f"{base}/search.json?_shape=array&q=" + urllib.parse.quote("绩效评价")))
    assert hits and all(h["snippet"].startswith("附件 attachment 《") and "<mark>绩效评价</mark>" in h["snippet"]
                        for h in hits)
    # The article page shows the DOCX's text, its hostile line escaped.
    art = conn.execute("SELECT x.article_url FROM attachments x WHERE x.url LIKE '%.docx'").fetchone()[0]
    from datasette.utils import tilde_encode

    html = urllib.request.urlopen(f"{base}/articles/{tilde_encode(art)}").read().decode()
    assert "govnews-attachment-text" in html and "专项资金管理办法" in html
    assert "<script>alert(" not in html and "&lt;script&gt;alert(" in html
    assert "<img src=x" not in html


def test_search_facets_count_attachment_hits(docs_archive):
    """The one-pass count and facets (CLI and Datasette) include the articles found through attachment text."""
    from archive.searching import facets as search_facets
    from tests.test_search_facets import datasette_pages

    db = docs_archive["db"]
    conn = sqlite3.connect(db)
    for q in ("资", "专项资金", "绩效评价"):
        total, facets = search_facets.count_and_facets(conn, q)
        assert total == reference_count(conn, q)[0] > 0, q
        assert sum(n for _, n in facets["site"]) == total
    urls = ["/DB/articles.json?_shape=objects&_col=url&_search=" + urllib.parse.quote(q) for q in ("资", "专项资金")]
    for q, (fast, slow, _, _) in zip(("资", "专项资金"), datasette_pages(db, urls), strict=True):
        assert fast == slow and fast["filtered_table_rows_count"] == reference_count(conn, q)[0], q
        assert sum(n for _, n in fast["facets"]["site"]) == fast["filtered_table_rows_count"]


def test_ocr_recovers_the_scan(docs_archive):
    if why := ocr_missing():
        pytest.skip(f"OCR not available: {why}")
    row = rows(docs_archive["db"])["2025czzj07.pdf"]
    assert row["method"] == "ocr" and row["status"] == "ok", row
    expected = squeeze("".join(scan_lines(DOCS[6])))
    got = squeeze(row["text"])
    accuracy = 1 - edit_distance(expected, got) / len(expected)
    assert accuracy >= 0.95, (accuracy, got)


def test_a_scan_without_ocr_is_empty_and_says_why(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(documents.scan(["示例市关于专项资金的通知"]))
    result = run_worker(path, "pdf", Limits(ocr=False))
    assert result.method == "none" and result.pages == 1
    assert result.errors and "OCR is off" in result.errors[0]


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def test_a_replaced_file_becomes_a_new_version(tmp_path):
    db = tmp_path / "archive.db"
    with FixtureServer([DocsSite()]) as server:
        site = server.sites["fixture-docs"]
        assert crawl(site, db, "--extract-attachments").returncode == 0
        before = rows(db)
        site.replace_file("2025czzj02.docx")
        done = crawl(site, db, "--refresh-attachments", "--extract-attachments")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "attachments: 1 extracted (1 ok)" in done.stdout, done.stdout
    conn = sqlite3.connect(db)
    versions = conn.execute("SELECT version, current, sha256, text FROM attachment_text WHERE url LIKE '%2025czzj02.docx' "
                            "ORDER BY version").fetchall()
    assert [(v, c) for v, c, _, _ in versions] == [(1, 0), (2, 1)]
    assert versions[0][2] == before["2025czzj02.docx"]["sha256"] != versions[1][2]
    assert "第1次修订" not in versions[0][3] and "第1次修订" in versions[1][3]
    # Unchanged files keep their one version; search sees the current text only.
    assert conn.execute("SELECT count(*) FROM attachment_text").fetchone()[0] == len(DOCS) + 1
    assert count_matches(conn, "第1次修订") == 1
    conn.execute("UPDATE attachment_text SET text = text WHERE 0")  # (the index is consistent: rebuilt equal)
    assert reference_count(conn, "绩效目标表")[0] == count_matches(conn, "绩效目标表") == 1


def test_the_worker_is_bounded_in_time_and_memory(tmp_path):
    fifo = tmp_path / "never.pdf"
    os.mkfifo(fifo)  # opening it blocks forever: the worker can only be stopped by its time limit
    result = run_worker(fifo, "pdf", Limits(timeout=2))
    assert result.method == "none" and result.errors and result.errors[0].startswith("timeout"), result
    small = tmp_path / "a.pdf"
    small.write_bytes(documents.pdf(["示例市专项资金"]))
    result = run_worker(small, "pdf", Limits(max_memory=48 << 20))
    assert result.method == "none" and result.errors, result
    assert re.match(r"(memory|crashed)", result.errors[0]), result.errors
    assert run_worker(small, "pdf", Limits()).text.strip() == "示例市专项资金"


@pytest.mark.parametrize("tool", ["catdoc", "antiword"])
def test_the_built_word_97_file_is_read_by_real_readers(tool, tmp_path):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (Debian: apt-get install {tool})")
    path = tmp_path / "a.doc"
    path.write_bytes(documents.doc(["示例市关于专项资金的通知", "GDP 2024年"]))
    argv = [tool, "-m", "UTF-8.txt", str(path)] if tool == "antiword" else [tool, "-d", "utf-8", str(path)]
    for _ in range(5):  # antiword read past a buffer on a file without a style sheet: it crashed now and then
        out = subprocess.run(argv, capture_output=True, check=True).stdout.decode()
        assert "示例市关于专项资金的通知" in out and "GDP 2024年" in out


def fake_programs(tmp_path, monkeypatch, **scripts: str) -> None:
    """Programs of these names, found first on PATH, running these shell lines (a reader that crashes)."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for tool, script in scripts.items():
        (bindir / tool).write_text(f"#!/bin/sh\n{script}\n")
        (bindir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_a_word_reader_that_crashes_is_a_recorded_reason_and_the_other_reads_the_file(tmp_path, monkeypatch):
    if shutil.which("catdoc") is None:
        pytest.skip("catdoc is not installed (Debian: apt-get install catdoc)")
    path = tmp_path / "a.doc"
    path.write_bytes(documents.doc(["示例市关于专项资金的通知"]))
    fake_programs(tmp_path, monkeypatch, antiword="kill -SEGV $$")
    result = run_worker(path, "doc", Limits(timeout=30))
    assert result.text == "示例市关于专项资金的通知" and result.extractor == "catdoc"
    assert result.errors == ["antiword: crashed (SIGSEGV)"], result.errors
    fake_programs(tmp_path, monkeypatch, catdoc="exit 0")  # and no text from the other either
    result = run_worker(path, "doc", Limits(timeout=30))
    assert result.method == "none" and not result.text
    assert result.errors == ["antiword: crashed (SIGSEGV); catdoc: no text"], result.errors


def test_long_paragraphs_and_every_character_of_doc_and_xls(tmp_path):
    """Whole paragraphs past 256 characters (catdoc keeps only their tail) and characters whose low byte
    is zero, 一 (U+4E00), which catdoc's xls2csv reads as 8-bit text."""
    para = "一二三四五六七八九十专项资金2024年GDP" * 20
    cases = {"doc": documents.doc([para, "第一条"]), "xls": documents.xls([[para], ["第一条", 100]])}
    for fmt, data in cases.items():
        path = tmp_path / f"a.{fmt}"
        path.write_bytes(data)
        result = run_worker(path, fmt, Limits(timeout=60))
        assert para in result.text and "第一条" in result.text, (fmt, result)


def test_formats_are_detected_by_content(tmp_path):
    cases = {"pdf": documents.pdf(["一"]), "docx": documents.docx(["一"]), "doc": documents.doc(["一"]),
             "xlsx": documents.xlsx([["一"]]), "xls": documents.xls([["一"]]), "ofd": documents.ofd([["一"]])}
    for fmt, data in cases.items():
        path = tmp_path / "file"
        path.write_bytes(data)
        assert formats.detect(data[:4096], path) == fmt
    path.write_bytes(b"GIF89a")
    assert formats.detect(b"GIF89a", path) is None
