"""No silent losses (issue 11, item 9): a listed URL over URLLENGTH_LIMIT is counted (url_too_long),
not dropped at INFO with the run "ok"; an empty article (even one reached through a redirect) and a
failing attachment reach fetch_failures under the URL they were listed as; and every failure kind is
tried in at most GOVNEWS_MAX_ATTEMPTS (3) runs, then left alone."""

from __future__ import annotations

import json
import sqlite3

from fixtures import faults as F
from fixtures.server import FixtureServer, Reply
from fixtures.sites.mini import SECTION, MiniSite
from fixtures.sites.walks import article_page
from tests.conftest import govnews

LONG = "/a/long.html?q=" + "x" * 2100
EMPTY = "<html><head><title></title></head><body><div class='nav'><a href='/'>首页</a></div></body></html>"


def test_dropped_and_failing_urls_counted_and_capped_at_three_runs(tmp_path):
    site = MiniSite(["/a/ok.html", "/a/empty.html", "/a/att.html", LONG])
    db = tmp_path / "a.db"
    with FixtureServer([site]):
        faults = F.Faults(site)
        faults.set("/a/empty.html", F.redirect("/b/empty.html"))  # an empty page behind a redirect
        site.pages["/b/empty.html"] = Reply.html(EMPTY)
        art = site.served["/a/att.html"]
        art.attachments = [("notice.pdf", "附件：通知")]
        site.pages["/a/att.html"] = Reply.html(article_page("示例", SECTION, art))
        faults.set("/files/notice.pdf", F.status(500))
        toml, runs = site.definition(tmp_path), []
        for _ in range(4):
            site.requests.clear()
            done = govnews("crawl", "--site", str(toml), "--base-url", site.base_url, "--db", str(db),
                           "-s", "RETRY_TIMES=0")
            runs.append((done, [r.path for r in site.requests]))
    conn = sqlite3.connect(db)
    statuses = [(r[0], json.loads(r[1])) for r in conn.execute("SELECT status, errors FROM crawl_runs ORDER BY id")]
    failures = {r[0]: r[1:] for r in conn.execute("SELECT url, what, kind, attempts FROM fetch_failures")}
    archived = {r[0] for r in conn.execute("SELECT url FROM articles")}
    conn.close()
    base = site.base_url.rstrip("/")
    assert archived == {base + "/a/ok.html", base + "/a/att.html"}
    # Runs 1-3 fail on each of them, and say so by kind; run 4 leaves them alone and is ok.
    for status, errors in statuses[:3]:
        assert status == "partial", statuses
        assert errors.get("url_too_long") == errors.get("empty_article") == 1, errors
        assert errors.get("attachment_http_500") == 1, errors
    assert statuses[3] == ("ok", {}), statuses
    assert failures == {base + "/a/empty.html": ("article", "empty_article", 3),
                        base + "/files/notice.pdf": ("attachment", "attachment_http_500", 3),
                        base + LONG: ("article", "url_too_long", 3)}, failures
    for n, (done, paths) in enumerate(runs):
        assert not [p for p in paths if "long.html" in p]  # never sent
        expected = 1 if n < 3 else 0
        assert paths.count("/b/empty.html") == expected, (n, paths)
        assert paths.count("/files/notice.pdf") == expected, (n, paths)
        if n < 3:
            assert "WARNING: url_too_long: " in done.stderr, done.stderr[-2000:]
