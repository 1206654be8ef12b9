"""Faults and hostile pages, each met by a real `govnews crawl` of the hostile fixture site.

One module-scoped pair of crawls keeps the suite quick: run 1 crawls the hostile site (its faulty
articles, traps and redirects are part of the site); then faults are switched on for articles run 1
archived, and run 2 crawls again. Every test reads what happened from the archive, crawl_runs, the
crawl's log and the fixture servers' request logs.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
import urllib.request
from collections import Counter
from types import SimpleNamespace

import pytest
from lxml import html as lxml_html

from crawler.middlewares.response_check import looks_binary
from crawler.middlewares.retry_after import retry_after_seconds
from crawler.urls import canonical_url, clean_url
from fixtures import faults as F
from fixtures.sites.hostile import ARCHIVED_FAULTS, ENCODED, FAULTY, XSS_TEXT, XSS_TITLE, hostile_servers
from tests.conftest import govnews

# Short timeouts keep the module short; retries stay bounded at 1 (2 requests per URL at most). 5 s, not
# less: the crawl extracts a 20 MB page meanwhile, and on a loaded machine a reactor busy for 2 s timed out
# answers that had arrived (trickle_ok's 0.6 s); hang (8 s) and trickle_slow (20 s) still outlast it.
SETTINGS = {"DOWNLOAD_TIMEOUT": 5, "RETRY_TIMES": 1, "GOVNEWS_RETRY_AFTER_MAX": 5,
            "GOVNEWS_MAX_LISTING_PAGES": 6, "REDIRECT_MAX_TIMES": 5}
CONTENT = ("title", "published", "body", "source", "author", "content_hash", "sections", "images")

# Faults switched on, in run 2, for articles run 1 archived. The first group must fail (and leave
# the row alone); the second still parses to the same content (and must leave it unchanged too).
SWITCHED_FAILING = {"empty": F.empty, "binary": F.binary, "truncated_gzip": F.truncated_gzip,
                    "reset": F.reset_mid_body, "reset_close": lambda: F.reset_mid_body(0.5, content_length=False),
                    "http_500": lambda: F.status(500), "hang": lambda: F.hang(8), "gzip_bomb": F.gzip_bomb}
SWITCHED_PARSING = {"malformed": F.malformed, "gbk_as_utf8": lambda: F.recode("gbk", "utf-8"),
                    "utf8_as_gbk": lambda: F.recode("utf-8", "gbk"), "gbk_unlabelled": lambda: F.recode("gbk", None),
                    "retry_after": lambda: F.status(503, retry_after=1, times=1),
                    "trickle_ok": lambda: F.trickle(0.6, chunks=6)}


def _snapshot(db) -> SimpleNamespace:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    snap = SimpleNamespace(
        integrity=conn.execute("PRAGMA integrity_check").fetchone()[0],
        rows={r["url"]: dict(r) for r in conn.execute("SELECT * FROM articles")},
        counts={t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("articles", "article_sections", "attachments", "sections", "sites")},
        attachments=sorted(tuple(r) for r in conn.execute("SELECT article_url, url, text FROM attachments")),
        run=dict(conn.execute("SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()),
    )
    snap.errors = json.loads(snap.run["errors"])
    conn.close()
    return snap


def _crawl(site, db, *extra):
    args = ["crawl", "--site", "fixture-hostile", "--base-url", site.base_url, "--db", str(db), *extra]
    for k, v in SETTINGS.items():
        args += ["-s", f"{k}={v}"]
    return govnews(*args, timeout=240)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    db = tmp_path_factory.mktemp("hostile") / "archive.db"
    off, srv = hostile_servers()
    site, offsite = srv.sites["fixture-hostile"], off.sites["offsite"]
    try:
        done1 = _crawl(site, db)
        run1 = _snapshot(db)
        requests1 = [r.path for r in site.requests]
        faults1 = list(site.faults.log)
        # Run 2: faults on articles run 1 archived (from 常州新闻, past the ones 重复 also lists).
        targets = {}
        for i, (name, make) in enumerate({**SWITCHED_FAILING, **SWITCHED_PARSING}.items()):
            path = f"/ns_news/{site.good[10 + i].id}"
            targets[name] = path
            site.faults.set(path, make())
        site.requests.clear()
        site.faults.reset_counts()
        done2 = _crawl(site, db, "--refresh")  # re-request what run 1 archived (else it is not fetched again)
        run2 = _snapshot(db)
        yield SimpleNamespace(site=site, offsite=offsite, db=db, base=site.base_url.rstrip("/"),
                              done1=done1, run1=run1, requests1=requests1, faults1=faults1,
                              done2=done2, run2=run2, requests2=[r.path for r in site.requests],
                              targets=targets)
    finally:
        srv.stop()
        off.stop()


def test_crawls_finish_partial_with_exit_1(hostile):
    for done in (hostile.done1, hostile.done2):
        assert done.returncode == 1, done.stderr[-3000:]
        assert ": partial run=" in done.stdout
    assert hostile.run1.run["status"] == hostile.run2.run["status"] == "partial"


def test_nothing_archived_changed(hostile):
    r1, r2 = hostile.run1, hostile.run2
    assert r1.integrity == r2.integrity == "ok"
    assert len(r1.rows) > 100
    assert r2.counts == r1.counts
    assert r2.attachments == r1.attachments
    for url, row in r1.rows.items():
        assert {k: r2.rows[url][k] for k in CONTENT} == {k: row[k] for k in CONTENT}, url
    # Run 2 really met the switched faults: every faulted path was requested, and failed by kind.
    for name, path in hostile.targets.items():
        assert path in hostile.requests2, name
    errors = r2.errors
    for kind in ("empty_body", "binary_as_html", "data_loss", "truncated_body", "http_500",
                 "timeout", "too_large"):
        assert errors.get(kind, 0) >= 2, (kind, errors)  # once in 故障, once on an archived article
    # The faulty pages that still parse gave the same content: counted unchanged, not updated.
    assert r2.run["updated"] == 0 and r2.run["new"] == 0
    assert r2.run["unchanged"] == len(r1.rows) - len(SWITCHED_FAILING)


def test_failures_counted_by_kind_in_crawl_runs_and_log(hostile):
    errors = hostile.run1.errors
    expected = {
        "http_500": 1, "http_503": 1, "timeout": 2, "data_loss": 1, "truncated_body": 2,
        "too_large": 1, "binary_as_html": 1, "empty_body": 1, "redirect_loop": 1, "too_many_redirects": 1,
        "offsite_redirect": 1, "listing_page_cap": 1,
    }
    failures = {k: v for k, v in errors.items() if k in expected}
    assert failures == expected, errors
    assert hostile.run1.run["failed"] == sum(expected.values())
    # Refusals by policy are counted too, without failing the run on their own.
    assert errors["robots_disallowed"] == 2 and errors["offsite_link"] == 1 and errors["listing_trap"] == 2
    assert errors["retried"] >= 5
    log = hostile.done1.stderr
    for kind in expected:
        assert f"WARNING: {kind}: " in log, kind


def test_retries_are_bounded_and_honour_retry_after(hostile):
    site, hits = hostile.site, Counter(p for p, _ in hostile.faults1)
    path = site.fault_paths
    assert hits[path["http_500"]] == SETTINGS["RETRY_TIMES"] + 1
    assert hits[path["hang"]] == SETTINGS["RETRY_TIMES"] + 1
    assert hits[path["http_503_long"]] == 1  # Retry-After: 3600 is over the cap: no retry this run
    times = [t for p, t in hostile.faults1 if p == path["retry_after"]]
    assert len(times) == 2 and times[1] - times[0] >= 0.9  # Retry-After: 1 was waited for
    assert max(Counter(hostile.requests1).values()) <= SETTINGS["RETRY_TIMES"] + 1


def test_each_fault_archived_or_refused(hostile):
    rows, site, base = hostile.run1.rows, hostile.site, hostile.base
    for name in FAULTY:
        url = base + site.fault_paths[name]
        art = site.articles[site.fault_paths[name]]
        if name in ARCHIVED_FAULTS:
            assert rows[url]["title"] == art.title, name
            assert rows[url]["body"].splitlines() == art.paragraphs, name
        else:
            assert url not in rows, name


def test_one_bad_page_never_stops_a_section(hostile):
    rows, site, base = hostile.run1.rows, hostile.site, hostile.base
    faulty_paths = set(site.fault_paths.values())
    good = [p for p, _ in site.sections["gzcs"] if p not in faulty_paths]
    assert len(good) >= 4
    assert all(base + p in rows for p in good)
    assert "/ns_class/gzcs/2" in hostile.requests1  # the walk went on past a page of failures


def test_wrong_charsets_and_malformed_html_archived_cleanly(hostile):
    rows, site, base = hostile.run1.rows, hostile.site, hostile.base
    for name in ENCODED:
        path = site.fault_paths[name]
        row, art = rows[base + path], site.articles[path]
        assert row["title"] == art.title, name
        assert row["body"].splitlines() == art.paragraphs, name
        assert "\x00" not in row["body"] and "\ufffd" not in row["body"], name
    assert rows[base + site.fault_paths["gbk_as_utf8"]]["encoding"] in ("gbk", "gb18030")


def test_hostile_markup_stored_as_text(hostile):
    rows, site, base = hostile.run1.rows, hostile.site, hostile.base
    url = base + site.fault_paths["xss"]
    row = rows[url]
    assert row["title"] == XSS_TITLE  # the text as the page shows it, tags and all
    assert row["body"].splitlines()[0] == XSS_TEXT
    assert "alert(3)" not in row["body"] and "alert(9)" not in row["body"]  # <script> and on* markup dropped
    assert "鼠标移过也不应执行任何脚本" in row["body"]
    assert all(i["url"].startswith("http") for i in json.loads(row["images"]))
    assert not [a for a in hostile.run1.attachments if not a[1].startswith("http")]


def test_hostile_markup_shown_escaped_in_datasette(hostile, datasette_server):
    from datasette.utils import tilde_encode

    base = datasette_server(hostile.db)
    url = hostile.base + hostile.site.fault_paths["xss"]
    pages = [f"{base}/archive/articles/{tilde_encode(url)}",
             f"{base}/archive/articles?" + urllib.parse.urlencode({"url": url}),
             f"{base}/archive?" + urllib.parse.urlencode({"sql": "select title, body from articles where url = :u",
                                                           "u": url})]
    for page in pages:
        raw = urllib.request.urlopen(page).read().decode("utf-8")
        assert "&lt;script&gt;alert(" in raw, page  # the text is there, escaped
        doc = lxml_html.fromstring(raw)
        scripts = " ".join(s.text_content() for s in doc.iter("script"))
        assert "alert(" not in scripts, page
        for el in doc.iter():
            if not isinstance(el.tag, str):
                continue
            for attr, value in el.attrib.items():
                assert not (attr.lower().startswith("on") and "alert" in value), (page, el.tag, attr)
                assert not value.strip().lower().startswith("javascript:alert"), (page, el.tag, attr)
        assert not [el for el in doc.iter("img") if el.get("src") == "x"], page


def test_same_article_under_many_urls_archived_once(hostile):
    rows, site, base = hostile.run1.rows, hostile.site, hostile.base
    for variant, canonical in site.variants.items():
        assert base + canonical in rows, variant
        sections = json.loads(rows[base + canonical]["sections"])
        assert "重复" in sections, (variant, sections)
    for url in rows:
        assert url == canonical_url(url), url
        assert "utm_" not in url and "jsessionid" not in url.lower() and not url.endswith("index.html")
    g = site.good
    for a in g[:5]:
        assert json.loads(rows[f"{base}/ns_news/{a.id}"]["sections"]) == ["常州新闻", "重复"]
        fetched = [p for p in hostile.requests1 if p.startswith(f"/ns_news/{a.id}")]
        assert len(fetched) == 1, fetched  # fetched once, whichever variant came first
    assert len([p for p in hostile.requests1 if p.startswith("/zt/2025/")]) == 1
    assert base + "/zt/2025/index.html" not in rows


def test_robots_disallowed_section_and_offsite_links_not_fetched(hostile):
    for requests in (hostile.requests1, hostile.requests2):
        assert not [p for p in requests if p.startswith("/nbzl/")]
        assert "/robots.txt" in requests
    assert hostile.offsite.requests == []
    assert not [p for p in hostile.requests1 if "javascript" in p]


def test_pager_loops_and_calendar_traps_are_cut(hostile):
    req, rows, site, base = hostile.requests1, hostile.run1.rows, hostile.site, hostile.base
    loop = [p for p in req if p.startswith("/ns_class/xhfy")]
    assert len(loop) == 4  # pages 1-3, then page 1 again under a fresh URL: all items seen -> stop
    assert all(f"{base}/ns_news/{a.id}" in rows for a in site.loop_articles)
    assert len([p for p in req if p.startswith("/ns_class/rlxj")]) == 2
    assert all(f"{base}/ns_news/{a.id}" in rows for a in site.trap_articles)
    endless = [p for p in req if p.startswith("/ns_class/wxfy")]
    assert len(endless) == SETTINGS["GOVNEWS_MAX_LISTING_PAGES"]


def test_redirects(hostile):
    rows, site, base, req = hostile.run1.rows, hostile.site, hostile.base, hostile.requests1
    assert rows[base + "/tz/moved"]["title"] == site.moved.title
    assert rows[base + "/tz/session"]["title"] == site.session_article.title
    assert base + "/tz/loop_a" not in rows and base + "/tz/offsite" not in rows
    assert req.count("/tz/loop_a") == 1 and req.count("/tz/loop_b") == 1
    chain = [p for p in req if p.startswith("/tz/chain")]
    assert len(chain) == SETTINGS["REDIRECT_MAX_TIMES"] + 1
    assert hostile.offsite.requests == []


@pytest.mark.parametrize("url, canonical", [
    ("http://A.gov.cn:80/a/b.html#x", "http://a.gov.cn/a/b.html"),
    ("http://a.gov.cn/a/b.html;jsessionid=ABC123?id=5&utm_source=wx", "http://a.gov.cn/a/b.html?id=5"),
    ("http://a.gov.cn/col/index.html", "http://a.gov.cn/col/"),
    ("http://a.gov.cn/col/index.html?uid=3&pageNum=2", "http://a.gov.cn/col/?uid=3&pageNum=2"),
    ("http://a.gov.cn/art.jsp?id=1&JSESSIONID=9&spm=a.b", "http://a.gov.cn/art.jsp?id=1"),
    ("https://a.gov.cn:8443/x?sid=2", "https://a.gov.cn:8443/x?sid=2"),
])
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical
    assert canonical_url(canonical) == canonical


def test_clean_url_keeps_index_file():
    assert clean_url("http://a.gov.cn/col/index.html?utm_medium=x") == "http://a.gov.cn/col/index.html"


def test_binary_sniffing_and_retry_after_parsing():
    assert looks_binary(b"%PDF-1.4 ...") and looks_binary(b"\x89PNG\r\n\x1a\n" + bytes(300))
    assert not looks_binary("<html><body>正文\0含有个别空字节</body></html>".encode())
    assert retry_after_seconds(b"120") == 120
    assert retry_after_seconds(b"Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert retry_after_seconds(b"soon") is None
