"""Coverage: each walk records the section's stated size (共N条, recordCount, totalrecord, JSON total;
共N页, totalpage) in crawl_runs.sections, and `govnews coverage` / the Datasette coverage page compare it
with what the archive holds. The fixture sites state their true totals; a page cap makes less reachable."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import urllib.request
from pathlib import Path

import pytest

from archive.store import Archive
from crawler.extract.cases import find_cases
from crawler.listing import extract_listing
from fixtures.server import FixtureServer
from fixtures.sites.walks import HanwebSite, PageParamSite, StaticPagerSite
from tests.conftest import govnews
from tests.shared_corpus import realpages

LISTINGS = Path(__file__).resolve().parents[1] / "fixtures" / "listings"
# case -> (stated items, stated pages): what each authored listing page says of its section
STATED = {"static_pager": (80, 7), "comment_list": (200, 10), "trs_pagediv": (112, 8), "trs_index_gbk": (None, 6),
          "hanweb_dataproxy_get": (75, 3), "hanweb_dataproxy_post": (120, 8), "hanweb_column_post": (120, None),
          "querylist_json": (40, None), "nested_data_list_rows": (5, None), "jsonp_pinyin_result_items": (None, 4),
          "numbered_pager": (None, None), "page_param": (150, None), "js_shell": (None, None)}


@pytest.mark.parametrize("name", sorted(STATED))
def test_listing_pages_state_their_sections_size(name):
    case = next(c for c in find_cases(LISTINGS, "listing") if c.path.name == name)
    got = case.run()
    assert (got["stated_items"], got["stated_pages"]) == STATED[name]


def test_a_count_in_article_text_is_not_the_sections_size():
    page = ('<html><body><ul><li><a href="/a/1.html">关于印发办法的通知</a><span>2025-01-02</span></li>'
            '<li><a href="/a/2.html">通知二</a><span>2025-01-01</span></li></ul><p>据介绍，《办法》共19条，主要内容包括'
            '八项机制，明确了各部门在案件移送、信息共享和联合执法中的职责分工和工作要求。</p>'
            '<div class="page">共<b>48</b>条记录 第1页/共4页</div></body></html>').encode()
    got = extract_listing("http://example.gov.cn/list/index.html", page)
    assert (got["stated_items"], got["stated_pages"]) == (48, 4)
    without = page.replace("共<b>48</b>条记录 ".encode(), b"")
    assert extract_listing("http://example.gov.cn/list/index.html", without)["stated_items"] is None


REAL = {p["file"]: p for p in realpages("listing")}


@pytest.mark.skipif(not REAL, reason="../shared/realpages is not present")
def test_real_pages_stated_sizes():
    want = {"www.scio.gov.cn/list_37234_index.html": (775, 33),  # 第1-24条/共775条信息 | 第1页/共33页
            "gxt.jiangsu.gov.cn/dataproxy_col89736_start1.xml": (756, 31),  # <totalrecord>/<totalpage>
            "sthjt.jiangxi.gov.cn/col42150_index.html": (None, None)}  # "《办法》共19条" is in a summary
    for file, page in REAL.items():
        key = next((k for k in want if file.endswith(k)), None)
        if key:
            got = extract_listing(page.get("url") or "", page["path"].read_bytes())
            assert (got["stated_items"], got["stated_pages"]) == want[key], file


# ---- end to end ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def walk_server():
    with FixtureServer([StaticPagerSite(), HanwebSite(), PageParamSite()]) as server:
        yield server


def crawl(server, name: str, db: Path, *args: str):
    return govnews("crawl", "--site", name, "--base-url", server.sites[name].base_url, "--db", str(db), *args)


def coverage(db: Path, *args: str) -> list[dict]:
    done = govnews("coverage", "--db", str(db), "--format", "json", *args, check=True)
    return json.loads(done.stdout)


def by_section(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["site"], r["section"]): r for r in rows}


def test_coverage_matches_the_stated_totals_under_a_page_cap(walk_server, tmp_path, datasette_server):
    db = tmp_path / "cov.db"
    for name in ("fixture-static", "fixture-hanweb", "fixture-pageparam"):
        done = crawl(walk_server, name, db, "-s", "GOVNEWS_MAX_LISTING_PAGES=2")
        assert done.returncode == 1, done.stderr  # the page cap is a listing_page_cap failure: partial
    static, hanweb, pageparam = (walk_server.sites[n] for n in ("fixture-static", "fixture-hanweb", "fixture-pageparam"))
    rows = by_section(coverage(db))
    # (stated, stated pages, archived within two listing pages)
    want = {
        ("fixture-static", "工作动态"): (len(static.sections["gzdt"]), 3, 24),  # 共30条信息, 共3页, 12 a page
        ("fixture-static", "通知公告"): (None, None, 20),  # page numbers only: no stated size
        ("fixture-hanweb", "工作动态"): (len(hanweb.sections["4101"]), 8, 60),  # totalRecord:73, then <totalpage>
        ("fixture-hanweb", "通知公告"): (len(hanweb.sections["4102"]), 2, 30),  # the dataproxy's <totalrecord>40
        ("fixture-pageparam", "政务要闻"): (len(pageparam.sections["zwyw"]), None, 20),  # laypage.render({count: 34})
        ("fixture-pageparam", "部门信息"): (len(pageparam.sections["bmxx"]), None, 16),  # JSON {"total": 27}
    }
    assert set(rows) == set(want)
    for key, (stated, pages, archived) in want.items():
        r = rows[key]
        assert (r["stated"], r["stated_pages"], r["archived"], r["listed"], r["gone"]) == \
            (stated, pages, archived, archived, 0), key
        assert r["coverage_pct"] == (round(100 * archived / stated, 1) if stated else None), key
        assert r["last_complete_walk"] is None and r["walk_status"] == "incomplete", key
    conn = sqlite3.connect(db)
    got = {(name, rec.get("stated_items")) for (s,) in conn.execute("SELECT sections FROM crawl_runs")
           for name, rec in json.loads(s).items()}
    assert got == {("工作动态", 30), ("通知公告", None), ("工作动态", 73), ("通知公告", 40), ("政务要闻", 34),
                   ("部门信息", 27)}  # the per-section record of each run holds it

    # Without the cap the walk goes on where it stopped: everything stated is archived, the walk complete.
    assert crawl(walk_server, "fixture-static", db).returncode == 0
    run = conn.execute("SELECT id, finished FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()
    rows = by_section(coverage(db, "--site", "fixture-static"))
    assert set(rows) == {("fixture-static", "工作动态"), ("fixture-static", "通知公告")}
    r = rows["fixture-static", "工作动态"]
    assert (r["stated"], r["archived"], r["coverage_pct"], r["stated_run"]) == (30, 30, 100.0, run[0])
    assert (r["last_complete_run"], r["last_complete_walk"], r["walk_status"]) == (run[0], run[1], "complete")
    assert rows["fixture-static", "通知公告"]["archived"] == len(static.sections["tzgg"])

    # csv and table carry the same numbers; the Datasette page is the same query.
    text = govnews("coverage", "--db", str(db), "--site", "fixture-static", "--format", "csv", check=True).stdout
    csv_rows = list(csv.DictReader(io.StringIO(text)))
    assert [(c["section"], c["stated"], c["archived"]) for c in csv_rows] == [("工作动态", "30", "30"), ("通知公告", "", "23")]
    table = govnews("coverage", "--db", str(db), check=True).stdout.splitlines()
    assert table[0].split()[:5] == ["site", "section", "stated", "stated_pages", "archived"]
    assert any(line.split()[:5] == ["fixture-hanweb", "工作动态", "73", "8", "60"] for line in table)
    base = datasette_server(db)
    with urllib.request.urlopen(f"{base}/cov/coverage.json?_shape=objects&site=fixture-static") as resp:
        page = json.load(resp)["rows"]
    assert by_section(page) == rows
    with urllib.request.urlopen(f"{base}/cov/coverage") as resp:  # every site when site is empty
        assert "fixture-pageparam" in resp.read().decode()


def test_coverage_bad_input_is_one_line_and_exit_2(tmp_path):
    with Archive(tmp_path / "empty.db"):
        pass
    assert coverage(tmp_path / "empty.db") == []
    done = govnews("coverage", "--db", str(tmp_path / "empty.db"), "--site", "no-such-site")
    assert done.returncode == 2 and "no site 'no-such-site'" in done.stderr and "Traceback" not in done.stderr
    notdb = tmp_path / "x.db"
    notdb.write_text("hello")
    done = govnews("coverage", "--db", str(notdb))
    assert done.returncode == 2 and "not a govnews archive" in done.stderr and "Traceback" not in done.stderr
