"""Incremental crawls over real HTTP, counted from the fixture server's own request log.

Second run over an unchanged site: S listing requests + 1 robots.txt. After k new articles at the top of
a section: at most S + (listing pages the k span) listing requests + k article requests. --refresh:
conditional requests, 304 for unchanged pages, a new version only when the content changed. 404/410 or a
redirect to the home page on two runs in a row: gone; 5xx never. Off the listing but resolving: unlisted.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
import urllib.request

from datasette.utils import tilde_encode

from fixtures.server import Reply
from tests.crawlkit import add_changzhou_articles, add_trs_articles, changzhou_url, crawl, q, request_counts

CZ, TRS = "fixture-changzhou", "fixture-trs"


def test_second_run_and_new_articles_cost_only_what_is_new(fixture_server, tmp_path):
    db = tmp_path / "a.db"
    measured = {}
    for name, s_count in ((CZ, 3), (TRS, 2)):
        site = fixture_server.sites[name]
        crawl(fixture_server, name, db)
        first = request_counts(site)
        assert first["article"] == len(site.articles)

        # Unchanged site: one listing page per section and robots.txt, nothing else.
        site.requests.clear()
        out = crawl(fixture_server, name, db).stdout
        counts = request_counts(site)
        assert counts == {"listing": s_count, "robots": 1}, counts
        assert "new=0 updated=0" in out
        measured[name] = {"unchanged": dict(counts)}

    # k new articles at the top of one section per site: changzhou 5 (one page of 20), TRS 17 (two pages of 15).
    cz, trs = fixture_server.sites[CZ], fixture_server.sites[TRS]
    for name, site, new_urls, per_page, s_count in (
            (CZ, cz, add_changzhou_articles(cz, "bmdt", 5), 20, 3),
            (TRS, trs, add_trs_articles(trs, "xwzx/tzgg", 17), 15, 2)):
        k = len(new_urls)
        site.requests.clear()
        out = crawl(fixture_server, name, db).stdout
        counts = request_counts(site)
        spanned = math.ceil(k / per_page)
        assert counts["listing"] <= s_count + spanned, counts
        assert counts["article"] == k, counts
        assert counts["robots"] == 1 and counts["attachment"] == 0, counts
        assert f"new={k} " in out, out
        archived = {r[0] for r in q(db, "SELECT url FROM articles WHERE site = ?", [name])}
        assert set(new_urls) <= archived
        measured[name][f"k={k}"] = dict(counts)
    print("measured request counts:", json.dumps(measured))

    # The runs are in crawl_runs, with per-section counts.
    runs = q(db, "SELECT site, status, new, requests, listing_pages, sections FROM crawl_runs ORDER BY id")
    assert [r[1] for r in runs] == ["ok"] * 6
    cz_last = [r for r in runs if r[0] == CZ][-1]
    assert cz_last[2] == 5 and json.loads(cz_last[5])["部门动态"]["new"] == 5


def test_pages_cap_and_full_walk(fixture_server, tmp_path):
    db = tmp_path / "a.db"
    site = fixture_server.sites[CZ]
    crawl(fixture_server, CZ, db, "--pages", "1")
    assert request_counts(site)["listing"] == 3
    first_pages = {a.id for arts in site.sections.values() for a in arts[:20]}
    assert q(db, "SELECT count(*) FROM articles")[0][0] == len(first_pages)
    # The capped walk left unknown items unwalked, so the next run walks those sections to their end.
    assert {r[0] for r in q(db, "SELECT walk_status FROM sections")} == {"incomplete"}
    site.requests.clear()
    crawl(fixture_server, CZ, db)
    assert q(db, "SELECT count(*) FROM articles")[0][0] == len(site.articles)
    assert request_counts(site)["listing"] == 9
    # --full walks every listing page of an unchanged site, and fetches no article.
    site.requests.clear()
    crawl(fixture_server, CZ, db, "--full")
    assert request_counts(site) == {"listing": 9, "robots": 1}


def test_refresh_is_conditional_and_keeps_versions(fixture_server, tmp_path, datasette_server):
    db = tmp_path / "a.db"
    site = fixture_server.sites[CZ]
    crawl(fixture_server, CZ, db)
    ids = list(site.articles)
    changed, restyled = site.articles[ids[0]], site.articles[ids[1]]
    old_body = q(db, "SELECT body FROM articles WHERE url = ?", [changzhou_url(site, changed.id)])[0][0]
    changed.paragraphs = changed.paragraphs + ["此稿件于发布后作了补充：相关工作将于下月继续推进。"]
    site.render()
    # Markup that is not content (a visit counter in a script) changes the bytes, not the article.
    path = f"/ns_news/{restyled.id}"
    page = site.pages[path]
    site.pages[path] = Reply(page.body.replace(b"var hits = 0", b"var hits = 42"), page.status, page.headers)

    site.requests.clear()
    out = crawl(fixture_server, CZ, db, "--refresh").stdout
    arts = [r for r in site.requests if r.path.startswith("/ns_news/")]
    assert len(arts) == len(site.articles)
    # Every refetch carried the stored validators.
    assert all("if-none-match" in r.headers and "if-modified-since" in r.headers for r in arts)
    statuses = dict(q(db, "SELECT status, count(*) FROM captures WHERE kind = 'article' AND run_id = 2 GROUP BY status"))
    assert statuses == {304: len(site.articles) - 2, 200: 2}, statuses
    assert "updated=1" in out and f"unchanged={len(site.articles) - 1}" in out, out

    url = changzhou_url(site, changed.id)
    versions = q(db, "SELECT version, body, warc_file, warc_offset, payload_digest FROM article_versions "
                     "WHERE article_url = ? ORDER BY version", [url])
    assert [v[0] for v in versions] == [1, 2]
    assert versions[0][1] == old_body and "此稿件于发布后作了补充" in versions[1][1]
    assert all(v[2] and v[3] is not None and v[4].startswith("sha1:") for v in versions)
    assert versions[0][2:4] != versions[1][2:4]  # each version points at its own capture
    row = q(db, "SELECT body, version FROM articles WHERE url = ?", [url])[0]
    assert "此稿件于发布后作了补充" in row[0] and row[1] == 2
    # Unchanged content writes no version, even when the page bytes changed.
    assert q(db, "SELECT count(*) FROM article_versions WHERE article_url = ?",
             [changzhou_url(site, restyled.id)])[0][0] == 1
    assert q(db, "SELECT count(*) FROM article_versions")[0][0] == len(site.articles) + 1

    # Datasette shows an article's versions: from the article's page, and as a table.
    base = datasette_server(db)
    page = urllib.request.urlopen(f"{base}/{db.stem}/articles/{tilde_encode(url)}").read().decode()
    assert re.search(r"article_versions\?article_url=[^\"]+\">\s*2 rows</a>\s*from article_url in article_versions", page)
    q_ = urllib.parse.urlencode({"article_url": url, "_shape": "array", "_sort": "version"})
    rows = json.load(urllib.request.urlopen(f"{base}/{db.stem}/article_versions.json?{q_}"))
    assert [r["version"] for r in rows] == [1, 2] and rows[0]["body"] == old_body

    # Again: everything answers 304 now, no new version.
    site.requests.clear()
    crawl(fixture_server, CZ, db, "--refresh")
    assert [r for r in q(db, "SELECT status, count(*) FROM captures WHERE kind = 'article' AND run_id = 3 "
                             "GROUP BY status")] == [(304, len(site.articles))]
    assert q(db, "SELECT count(*) FROM article_versions")[0][0] == len(site.articles) + 1


def test_fixture_answers_if_modified_since(fixture_server):
    import urllib.error
    import urllib.request

    site = fixture_server.sites[TRS]
    url = site.base_url + "xwzx/gzdt/index.html"
    first = urllib.request.urlopen(url)
    stamp, etag = first.headers["Last-Modified"], first.headers["ETag"]
    for headers in ({"If-Modified-Since": stamp}, {"If-None-Match": etag}):
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers))
            raise AssertionError("expected 304")
        except urllib.error.HTTPError as e:
            assert e.code == 304
    assert urllib.request.urlopen(urllib.request.Request(url, headers={"If-None-Match": '"other"'})).status == 200


def test_gone_only_after_two_runs_and_never_for_5xx(fixture_server, tmp_path):
    db = tmp_path / "a.db"
    site = fixture_server.sites[CZ]
    crawl(fixture_server, CZ, db)
    n = q(db, "SELECT count(*) FROM articles")[0][0]
    ids = list(site.articles)
    deleted, withdrawn, moved_home, flaky = (f"/ns_news/{i}" for i in ids[3:7])
    del site.pages[deleted]  # 404
    site.pages[withdrawn] = Reply(b"<h1>410 Gone</h1>", 410, [("Content-Type", "text/html")])
    site.pages[moved_home] = Reply(b"", 302, [("Location", "/")])
    site.pages[flaky] = Reply(b"<h1>503</h1>", 503, [("Content-Type", "text/html")])

    def state(path):
        return q(db, "SELECT missing_count, gone_at, last_status FROM articles WHERE url = ?",
                 [site.base_url + path.lstrip("/")])[0]

    first = crawl(fixture_server, CZ, db, "--refresh", check=False)
    assert first.returncode == 1 and ": partial " in first.stdout  # the 503 is an error of this run
    assert state(deleted) == (1, None, 404)
    assert state(withdrawn) == (1, None, 410)
    assert state(moved_home)[:2] == (1, None) and state(moved_home)[2] in (301, 302)
    assert state(flaky)[:2] == (0, None)

    second = crawl(fixture_server, CZ, db, "--refresh", check=False)
    assert "gone=3" in second.stdout, second.stdout
    for path in (deleted, withdrawn, moved_home):
        count, gone_at, _ = state(path)
        assert count == 2 and gone_at
    assert state(flaky)[:2] == (0, None)  # 5xx on two runs: still not gone
    errors, failed = q(db, "SELECT errors, failed FROM crawl_runs ORDER BY id DESC LIMIT 1")[0]
    assert json.loads(errors)["http_503"] == 1 and failed == 1  # (retries are counted too, as "retried")
    # Nothing is deleted: the rows, their versions and their sections are all still there.
    assert q(db, "SELECT count(*) FROM articles")[0][0] == n
    assert q(db, "SELECT count(*) FROM article_versions")[0][0] == n
    assert q(db, "SELECT body IS NOT NULL FROM articles WHERE url = ?", [site.base_url + deleted.lstrip("/")])[0][0]

    # A page that comes back is no longer gone.
    site.render()
    crawl(fixture_server, CZ, db, "--refresh")
    assert state(deleted)[:2] == (0, None)


def test_unlisted_but_resolving_is_not_gone(fixture_server, tmp_path):
    db = tmp_path / "a.db"
    site = fixture_server.sites[CZ]
    crawl(fixture_server, CZ, db)
    dropped = site.sections["bmdt"][-1]  # last item of 部门动态, still served at its URL
    site.sections["bmdt"] = site.sections["bmdt"][:-1]
    site.render()
    site.requests.clear()
    out = crawl(fixture_server, CZ, db, "--full").stdout
    assert "unlisted=1" in out, out
    url = changzhou_url(site, dropped.id)
    assert q(db, "SELECT unlisted_at IS NOT NULL, gone_at, last_status FROM articles WHERE url = ?", [url]) == [(1, None, 304)]
    assert q(db, "SELECT a.unlisted_at IS NOT NULL FROM article_sections a JOIN sections s ON s.id = a.section_id "
                 "WHERE a.article_url = ? AND s.name = '部门动态'", [url]) == [(1,)]
    # It was re-checked once, conditionally; nothing else was fetched.
    assert [r.path for r in site.requests if r.path.startswith("/ns_news/")] == [f"/ns_news/{dropped.id}"]
    # Listed again: no longer unlisted.
    site.sections["bmdt"].append(dropped)
    site.render()
    crawl(fixture_server, CZ, db, "--full")
    assert q(db, "SELECT unlisted_at FROM articles WHERE url = ?", [url]) == [(None,)]


def test_a_listed_page_that_never_works_is_retried_three_runs_then_left(fixture_server, tmp_path):
    db = tmp_path / "a.db"
    site = fixture_server.sites[CZ]
    broken = site.sections["zxzx"][0]
    del site.pages[f"/ns_news/{broken.id}"]  # listed, but 404 from the start
    asked = []
    for _ in range(4):
        site.requests.clear()
        crawl(fixture_server, CZ, db, check=False)
        asked.append(sum(r.path == f"/ns_news/{broken.id}" for r in site.requests))
    assert asked == [1, 1, 1, 0]
    url = changzhou_url(site, broken.id)
    assert q(db, "SELECT kind, attempts FROM fetch_failures WHERE url = ?", [url]) == [("http_404", 3)]
    # Runs 2-4 cost a listing page per section, the retries, and robots.txt; the last one nothing else.
    assert request_counts(site) == {"listing": 3, "robots": 1}
    # Given up on, but --refresh tries every page the archive knows again: now it works.
    site.render()
    crawl(fixture_server, CZ, db, "--refresh")
    assert q(db, "SELECT resolved_run IS NOT NULL FROM fetch_failures WHERE url = ?", [url]) == [(1,)]
    assert q(db, "SELECT count(*) FROM articles WHERE url = ?", [url]) == [(1,)]
