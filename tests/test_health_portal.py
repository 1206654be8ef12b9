"""The two-version fixture portal (fixtures/sites/portal_trs.py, the discover tests' site) through the
health checks: version 2's changes raise exactly their flags, from the crawl (emptied section, 40%
taken down, redesigned article template) and from `govnews discover --check --db` (new and renamed
sections), all in crawl_health with exit code 3."""

from __future__ import annotations

import pytest

from fixtures.server import FixtureServer
from tests.conftest import govnews
from tests.crawlkit import crawl, q

TrsPortal = pytest.importorskip("fixtures.sites.portal_trs", reason="the discover portal fixture is not here").TrsPortal
NAME = "fixture-portal-trs"


def test_portal_version_2_raises_exactly_its_flags(tmp_path):
    with FixtureServer([TrsPortal()]) as server:
        site = server.sites[NAME]
        db = tmp_path / "p.db"
        assert crawl(server, NAME, db, check=False).returncode == 0
        again = crawl(server, NAME, db, "--refresh", check=False)  # nothing changed: nothing flagged
        assert again.returncode == 0 and q(db, "SELECT count(*) FROM crawl_health") == [(0,)]
        site.switch(2)
        done = crawl(server, NAME, db, "--refresh", check=False)
        assert done.returncode == 3, done.stdout + done.stderr
        run = q(db, "SELECT max(id) FROM crawl_runs")[0][0]
        got = q(db, "SELECT flag, section, value, detail FROM crawl_health WHERE run_id = ? ORDER BY id", [run])
        # The emptied 人事信息 also stopped serving its 7 articles (version 2 renders only what it lists):
        # missing too, 7 of 7.
        assert {(f, s) for f, s, _, _ in got} == {("empty_section", "人事信息"), ("articles_missing", "政策文件"),
                                                  ("articles_missing", "人事信息"), ("fill_drop", "工作动态")}
        assert {s: v for f, s, v, _ in got if f == "articles_missing"} == {"政策文件": 0.4, "人事信息": 1.0}  # 8 of 20
        assert {d.split(":")[0] for f, _, _, d in got if f == "fill_drop"} == {"date", "source"}
        check = govnews("discover", "--check", "--site", NAME, "--base-url", site.base_url, "--db", str(db))
    assert check.returncode == 3, check.stdout + check.stderr
    found = q(db, "SELECT flag, section FROM crawl_health WHERE id > (SELECT max(id) - 2 FROM crawl_health) "
                  "ORDER BY id")
    assert set(found) == {("section_added", "媒体关注"), ("section_renamed", "通知公告")}
