"""Search and browsing through a real Datasette over HTTP, on the crawled fixture archive."""

from __future__ import annotations

import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from archive import search
from archive.store import Archive
from tests.conftest import REPO, free_port, wait_http
from tests.test_search import reference

# Hand-picked: 1, 2, 3+ characters, Latin and digits, ASCII case, AND, phrases, words that are absent.
FIXED_QUERIES = [
    "党", "市", "会", "新", "政", "局",
    "政协", "会议", "经济", "企业", "数字", "创新", "科技", "民生", "代表", "群众", "工作",
    "新质生产力", "数字经济", "营商环境", "乡村振兴", "生态环境", "安全生产", "城市更新", "高质量发展",
    "2024年", "2024", "24年", "GDP", "gdp", "Gdp", "DP", "5G", "2025年", "12月",
    "量子纠缠", "长三角", "习近平",
    "政协 会议", "新质 生产力", "党 2024年", "GDP 企业", "科技 创新 群众",
    '"数字经济"', "“营商环境”", '"政协 会议"',
]


def get(url: str) -> bytes:
    return urllib.request.urlopen(url, timeout=60).read()


def get_json(url: str):
    return json.loads(get(url))


def sampled_queries(db: Path, n: int = 30) -> list[str]:
    """Substrings of the archived text, 1-6 characters, picked with a fixed seed."""
    conn = sqlite3.connect(db)
    texts = [f"{t}\n{b}" for t, b in conn.execute("SELECT title, body FROM articles ORDER BY url")]
    rnd, out = random.Random(42), set()
    while len(out) < n:
        text = rnd.choice(texts)
        k = rnd.choice([1, 2, 2, 3, 4, 6])
        i = rnd.randrange(0, max(1, len(text) - k))
        q = text[i:i + k]
        parts = search.runs(q)
        if len(parts) == 1 and len(parts[0]) == len(q):  # letters and digits only
            out.add(q)
    return sorted(out)


def start_server(argv: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([*argv, "--port", str(port)], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/-/versions.json")
    except OSError:
        proc.kill()
        raise AssertionError(proc.stderr.read().decode()) from None
    return proc, base


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def served(fixture_archive):
    """`govnews serve` on the fixture archive: (base URL of the database, db path)."""
    proc, base = start_server([sys.executable, "-m", "crawler.cli", "serve", "--db", str(fixture_archive)])
    yield f"{base}/{fixture_archive.stem}", fixture_archive
    stop(proc)


def search_urls(dbase: str, query: str) -> set[str]:
    q = urllib.parse.urlencode({"_search": query, "_col": "url", "_shape": "array", "_size": "max", "_nofacet": 1})
    return {r["url"] for r in get_json(f"{dbase}/articles.json?{q}")}


def reference_urls(db: Path, query: str) -> set[str]:
    conn = sqlite3.connect(db)
    rowids = reference(conn, query)
    return {u for r, u in conn.execute("SELECT rowid, url FROM articles") if r in rowids}


def test_search_is_exact_through_datasette_json_api(served):
    dbase, db = served
    queries = FIXED_QUERIES + sampled_queries(db)
    assert len(set(queries)) >= 70
    hits = 0
    for q in queries:
        expected = reference_urls(db, q)
        assert search_urls(dbase, q) == expected, q
        hits += bool(expected)
    assert hits >= 55  # most queries do match something: the test is not vacuous
    # The counts Datasette shows agree too.
    for q in ("政协", "党", "2024年", "GDP"):
        data = get_json(f"{dbase}/articles.json?" + urllib.parse.urlencode({"_search": q, "_size": 0}))
        assert data["filtered_table_rows_count"] == len(reference_urls(db, q)) > 0


def test_search_box_html_page(served):
    dbase, db = served
    html = get(f"{dbase}/articles?" + urllib.parse.urlencode({"_search": "政协"})).decode()
    n = len(reference_urls(db, "政协"))
    assert 'name="_search"' in html
    assert re.search(rf"{n:,} rows?\s+where search matches", html), html[:3000]


def test_plain_datasette_searches_chinese_through_the_entry_point(fixture_archive, tmp_path):
    """`datasette archive.db` with no options: the plugin alone brings search, metadata and queries."""
    db = tmp_path / "plain.db"
    shutil.copy(fixture_archive, db)
    proc, base = start_server([sys.executable, "-m", "datasette", "serve", str(db)])
    try:
        for q in ("政协", "党", "新质生产力", "2024年", "GDP", "政协 会议"):
            assert search_urls(f"{base}/plain", q) == reference_urls(db, q), q
        meta = get_json(f"{base}/-/metadata.json")
        assert meta["databases"]["plain"]["tables"]["articles"]["fts_table"] == search.FTS_TABLE
        assert {q["name"] for q in get_json(f"{base}/plain.json")["queries"]} >= {"latest", "search", "search_newest"}
    finally:
        stop(proc)


def test_ranked_search_canned_queries(served):
    dbase, db = served
    expected = reference_urls(db, "政协")
    rows = get_json(f"{dbase}/search.json?_shape=array&" + urllib.parse.urlencode({"q": "政协"}))
    assert len(rows) == min(100, len(expected)) > 0
    assert {r["url"] for r in rows} <= expected
    assert all("<mark>政协</mark>" in (r["snippet"] or "") or "政协" in r["title"] for r in rows)
    # Title hits weigh more: the first result has the word in its title.
    assert "政协" in rows[0]["title"]
    newest = get_json(f"{dbase}/search_newest.json?_shape=array&" + urllib.parse.urlencode({"q": "政协"}))
    assert {r["url"] for r in newest} <= expected and len(newest) == len(rows)
    dates = [r["published"] for r in newest]
    assert dates == sorted(dates, reverse=True)
    # The query page has its own search box, and shows the hits marked but the text escaped.
    html = get(f"{dbase}/search?" + urllib.parse.urlencode({"q": "政协"})).decode()
    assert 'name="q"' in html and "<mark>政协</mark>" in html


def test_latest_and_section_date_range_queries(served):
    dbase, db = served
    latest = get_json(f"{dbase}/latest.json?_shape=array")
    assert [r["published"] for r in latest] == sorted((r["published"] for r in latest), reverse=True)
    conn = sqlite3.connect(db)
    section = conn.execute("SELECT name FROM sections ORDER BY id LIMIT 1").fetchone()[0]
    expected = {u for (u,) in conn.execute(
        "SELECT a.url FROM articles a JOIN article_sections x ON x.article_url = a.url "
        "JOIN sections s ON s.id = x.section_id WHERE s.name = ? AND substr(a.published, 1, 10) "
        "BETWEEN '2024-11-15' AND '2024-12-20'", [section])}
    rows = get_json(f"{dbase}/section_dates.json?_shape=array&" + urllib.parse.urlencode(
        {"section": section, "since": "2024-11-15", "until": "2024-12-20"}))
    assert {r["url"] for r in rows} == expected and expected


def test_every_table_and_column_described_in_chinese_and_english(served):
    dbase, db = served
    base = dbase.rsplit("/", 1)[0]
    meta = get_json(f"{base}/-/metadata.json")
    for key in ("title", "source", "license", "license_url"):
        assert meta.get(key), key
    assert meta.get("description") or meta.get("description_html")
    tables_meta = meta["databases"][db.stem]["tables"]
    conn = sqlite3.connect(db)
    shadow = re.compile(rf"^({search.FTS_TABLE}|attachment_fts)_(data|idx|docsize|config|content)$")
    tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'") if not shadow.match(t)]

    def bilingual(text: str) -> bool:
        return bool(re.search(r"[\u4e00-\u9fff]", text) and re.search(r"[A-Za-z]{3}", text))

    for t in tables:
        assert bilingual(tables_meta[t]["description"]), t
        for (col,) in conn.execute(f"SELECT name FROM pragma_table_xinfo('{t}') WHERE hidden != 1"):
            assert bilingual(tables_meta[t]["columns"].get(col, "")), (t, col)


def test_facets_on_site_section_year_month_issuer(served):
    dbase, db = served
    data = get_json(f"{dbase}/articles.json?_size=0")
    facets = data["facet_results"]
    assert {"site", "section", "year", "month", "issuer"} <= set(facets)
    assert not data.get("facets_timed_out")
    conn = sqlite3.connect(db)
    by_site = dict(conn.execute("SELECT site, count(*) FROM articles GROUP BY site"))
    assert {r["value"]: r["count"] for r in facets["site"]["results"]} == by_site
    by_year = dict(conn.execute("SELECT substr(published, 1, 4), count(*) FROM articles GROUP BY 1"))
    assert {r["value"]: r["count"] for r in facets["year"]["results"]} == by_year
    # Facets of a search (counted from the narrow facet table) agree with the articles themselves.
    data = get_json(f"{dbase}/articles.json?_size=0&" + urllib.parse.urlencode({"_search": "政协"}))
    hits = reference_urls(db, "政协")
    assert data["filtered_table_rows_count"] == len(hits)
    for col in ("site", "section", "year", "month"):
        want = {}
        for (v,) in conn.execute(f"SELECT {col} FROM articles WHERE url IN ({','.join('?' * len(hits))})", list(hits)):
            if v is not None:
                want[v] = want.get(v, 0) + 1
        assert {r["value"]: r["count"] for r in data["facet_results"][col]["results"]} == want, col
    # Each facet column has an index (so facets stay fast on a big archive).
    indexed = {r[0] for r in conn.execute("SELECT il.name FROM pragma_index_list('articles') l, "
                                          "pragma_index_info(l.name) il WHERE il.seqno = 0")}
    assert {"site", "section", "year", "month", "issuer", "published"} <= indexed


def test_article_page_reads_like_an_article(served):
    dbase, db = served
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    a = conn.execute("SELECT a.* FROM articles a WHERE EXISTS (SELECT 1 FROM attachments t "
                     "WHERE t.article_url = a.url) ORDER BY url LIMIT 1").fetchone()
    page = get(f"{dbase}/articles/" + urllib.parse.quote(tilde(a["url"]), safe="~")).decode()
    paras = [p.strip() for p in a["body"].split("\n") if p.strip()]
    shown = [unescape(p) for p in re.findall(r"<p>(.*?)</p>", page, re.S)]
    for p in paras:
        assert p in shown, p
    assert f'href="{a["url"]}"' in page  # the original URL
    for (url,) in conn.execute("SELECT url FROM attachments WHERE article_url = ?", [a["url"]]):
        assert f'href="{url}"' in page
    assert a["fetched_at"] in page and "Captured" in page


def tilde(s: str) -> str:
    from datasette.utils import tilde_encode

    return tilde_encode(s)


def unescape(s: str) -> str:
    import html

    return html.unescape(s.strip())


def test_archived_html_is_never_rendered_as_html(fixture_archive, tmp_path):
    db = tmp_path / "archive.db"
    shutil.copy(fixture_archive, db)
    evil = "<script>alert('政协')</script><img src=x onerror=alert(1)>"
    with Archive(db) as archive:
        archive.save_article({"url": "https://evil.example.gov.cn/1", "site": "fixture-trs", "title": evil + "标题",
                              "body": "第一段" + evil + "\n<b>第二段</b>", "source": evil, "content_hash": "x",
                              "attachments": [{"url": "https://evil.example.gov.cn/a.pdf", "text": evil}]})
    proc, base = start_server([sys.executable, "-m", "crawler.cli", "serve", "--db", str(db)])
    try:
        pages = [get(f"{base}/archive/articles/" + tilde("https://evil.example.gov.cn/1")).decode(),
                 get(f"{base}/archive/articles?" + urllib.parse.urlencode({"_search": "标题"})).decode(),
                 get(f"{base}/archive/search?" + urllib.parse.urlencode({"q": "第一段"})).decode()]
        for page in pages:
            assert "<script>alert" not in page and "<img src=x" not in page and "<b>第二段" not in page
        assert "&lt;script&gt;alert(" in pages[0] and "&lt;b&gt;第二段&lt;/b&gt;" in pages[0]
        assert "<mark>第一段</mark>&lt;script&gt;" in pages[2]
    finally:
        stop(proc)


def test_csv_download_has_bom_and_chinese(served):
    dbase, db = served
    raw = get(f"{dbase}/articles.csv?_dl=1&_stream=1&" + urllib.parse.urlencode({"_search": "政协"}))
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.startswith("url,") and "政协" in text
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["url"] for r in rows} == reference_urls(db, "政协")


def test_read_only(served):
    dbase, db = served
    for sql in ("DELETE FROM articles", "UPDATE articles SET title = 'x'", "DROP TABLE articles"):
        with pytest.raises(urllib.error.HTTPError) as e:
            get(f"{dbase}.json?" + urllib.parse.urlencode({"sql": sql}))
        assert e.value.code in (400, 403)


def test_public_serves_an_immutable_snapshot(fixture_archive, tmp_path):
    db = tmp_path / "archive.db"
    shutil.copy(fixture_archive, db)
    argv = [sys.executable, "-m", "crawler.cli", "serve", "--db", str(db), "--public"]
    proc, base = start_server(argv)
    try:
        info = {d["name"]: d for d in get_json(f"{base}/-/databases.json")}["archive"]
        assert info["is_mutable"] is False and info["hash"]
        assert (tmp_path / "archive-public" / "archive.db").exists()
        assert search_urls(f"{base}/archive", "政协") == reference_urls(db, "政协")
        # The live archive takes a new article; the snapshot being served does not change.
        with Archive(db) as archive:
            archive.save_article({"url": "https://new.example.gov.cn/1", "site": "fixture-trs",
                                  "title": "新增文章量子纠缠", "body": "正文", "content_hash": "n"})
        assert search_urls(f"{base}/archive", "量子纠缠") == set()
    finally:
        stop(proc)
    # Served again, the snapshot is taken anew.
    proc, base = start_server(argv)
    try:
        assert search_urls(f"{base}/archive", "量子纠缠") == {"https://new.example.gov.cn/1"}
    finally:
        stop(proc)


def add_versions_and_gone(db: Path) -> tuple[str, str]:
    """Give an archive versions and a taken-down article, shaped like the incremental crawls record them
    (on archives made before those, the columns and table are added here by hand)."""
    conn = sqlite3.connect(db)
    cols = {r[1] for r in conn.execute("PRAGMA table_info(articles)")}
    for col, typ in (("version", "INTEGER"), ("gone_at", "TEXT")):
        if col not in cols:
            conn.execute(f"ALTER TABLE articles ADD COLUMN {col} {typ}")
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'article_versions'").fetchone():
        conn.execute("CREATE TABLE article_versions (id INTEGER PRIMARY KEY, article_url TEXT, version INTEGER, "
                     "run_id INTEGER, fetched_at TEXT, content_hash TEXT, title TEXT, published TEXT, source TEXT, "
                     "author TEXT, body TEXT, attachments TEXT)")
    changed, gone = [u for (u,) in conn.execute("SELECT url FROM articles ORDER BY url LIMIT 2")]
    conn.execute("UPDATE articles SET version = 1")
    conn.execute("UPDATE articles SET version = 2 WHERE url = ?", [changed])
    conn.execute("DELETE FROM article_versions WHERE article_url = ?", [changed])
    for v, when, title in ((1, "2025-01-01T00:00:00+00:00", "旧标题<script>x</script>"),
                           (2, "2025-02-01T00:00:00+00:00", "新标题")):
        conn.execute("INSERT INTO article_versions (article_url, version, fetched_at, title, body) "
                     "VALUES (?, ?, ?, ?, '正文')", [changed, v, when, title])
    conn.execute("UPDATE articles SET gone_at = '2025-03-01T00:00:00+00:00' WHERE url = ?", [gone])
    conn.commit()
    conn.close()
    return changed, gone


def test_changed_and_taken_down_articles(fixture_archive, tmp_path):
    db = tmp_path / "archive.db"
    shutil.copy(fixture_archive, db)
    changed, gone = add_versions_and_gone(db)
    with Archive(db):  # opening adds the gone facet column and the indexes
        pass
    proc, base = start_server([sys.executable, "-m", "crawler.cli", "serve", "--db", str(db)])
    try:
        rows = get_json(f"{base}/archive/changed.json?_shape=array")
        assert [(r["url"], r["version"]) for r in rows] == [(changed, 2), (changed, 1)]
        rows = get_json(f"{base}/archive/gone.json?_shape=array")
        assert [r["url"] for r in rows] == [gone]
        facets = get_json(f"{base}/archive/articles.json?_size=0")["facet_results"]
        assert {r["value"]: r["count"] for r in facets["gone"]["results"]}[1] == 1
        page = get(f"{base}/archive/articles/" + tilde(changed)).decode()
        assert "Versions 版本历史 (2)" in page and "旧标题&lt;script&gt;" in page
        page = get(f"{base}/archive/articles/" + tilde(gone)).decode()
        assert "Taken down" in page and "2025-03-01" in page
    finally:
        stop(proc)
