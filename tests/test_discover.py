"""`govnews discover` on our portal fixture sites (real HTTP on 127.0.0.x): it finds exactly their news and
政务公开 sections, with the right listing URLs and mechanisms, and writes the definition we wrote by
hand; the definition it writes crawls. Link harvesting is also checked on the real pages in
../shared/realpages (read in place; skipped when absent)."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.request

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from crawler.discover import names
from crawler.discover.links import harvest
from crawler.discover.output import evidence
from crawler.sites import load_site
from crawler.urls import canonical_url
from fixtures.server import FixtureServer, portal_sites
from tests.conftest import free_port, govnews
from tests.shared_corpus import shared_dir

# What each portal's sections are walked by, and how many items page 1 shows.
EXPECTED = {
    "fixture-portal-hanweb": {"工作动态": ("hanweb-jpage-post", 30), "通知公告": ("hanweb-jpage-get", 30),
                              "政策文件": ("hanweb-jpage", 14), "规划计划": ("hanweb-jpage", 6)},
    "fixture-portal-trs": {"工作动态": ("trs-createPageHTML", 15), "通知公告": ("trs-createPageHTML", 15),
                           "政策文件": ("trs-createPageHTML", 15), "人事信息": ("trs-createPageHTML", 7)},
    "fixture-portal-ucap": {"本地要闻": ("next-link", 10), "部门动态": ("next-link", 10), "图片新闻": ("js-shell", 0),
                            "政策文件": ("next-link", 10), "通知公告": ("none", 9)},
}
STATED = {"fixture-portal-hanweb": {"工作动态": "共45条", "通知公告": "共36条/共2页", "政策文件": None, "规划计划": None},
          "fixture-portal-trs": {"工作动态": "共38条/共3页", "通知公告": "共20条/共2页", "政策文件": "共20条/共2页",
                                 "人事信息": "共7条/共1页"},
          "fixture-portal-ucap": {"本地要闻": "共28条", "部门动态": "共17条", "图片新闻": None, "政策文件": "共23条",
                                  "通知公告": "共9条"}}


@pytest.fixture(scope="module")
def portals():
    with FixtureServer(portal_sites(), distinct_hosts=True) as server:
        yield server


def run_discover(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(cli, ["discover", *args])
    return done.exit_code, done.stdout, done.stderr


def sections_of(path_or_name: str, base_url: str) -> dict[str, tuple]:
    site = load_site(path_or_name, base_url)
    return {s.name: (canonical_url(s.url), s.listing, s.render) for s in site.sections}


def load_text(name: str) -> str:
    from crawler.sites import site_path

    return site_path(name).read_text(encoding="utf-8")


def blocks(text: str) -> set[tuple[str, str, str]]:
    return set(re.findall(r'^\[\[sections\]\]\n(# found: .*)\nname = "(.*)"\nurl = "(.*)"$', text, re.M))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_discover_writes_the_hand_written_definition(portals, tmp_path, name):
    site = portals.sites[name]
    out = tmp_path / f"{name}.toml"
    code, _, err = run_discover(site.base_url, "--out", str(out), "--name", name)
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert sections_of(str(out), site.base_url) == sections_of(name, site.base_url), text
    got = load_site(str(out), site.base_url)
    assert got.name == name and got.fixture and got.title == load_site(name, site.base_url).title
    lines = dict(zip([s.name for s in got.sections], evidence(text), strict=True))
    for section, (mechanism, items) in EXPECTED[name].items():
        line = lines[section]["line"]
        assert f" · {mechanism} · {items} items on page 1 · " in line, line
        stated = STATED[name][section]
        assert f" · {stated or 'no stated total'} · " in line, line
        assert lines[section]["browser"] == (mechanism == "js-shell"), line
    # Section by section (evidence line, name, URL), what we wrote by hand; in any order.
    assert blocks(text) == blocks(load_text(name))
    # The pages that are not sections are named with the reason.
    assert "# Looked at, not sections:" in text and "gathers the lists of" in text


def test_discover_from_a_column_page_finds_the_same_sections(portals, tmp_path):
    site = portals.sites["fixture-portal-hanweb"]
    out = tmp_path / "from-column.toml"
    code, _, err = run_discover(site.base_url + "col/col5202/index.html", "--out", str(out), "--name", site.name)
    assert code == 0, err
    assert sections_of(str(out), site.base_url) == sections_of(site.name, site.base_url)


def test_discover_prints_the_definition_and_a_summary(portals):
    site = portals.sites["fixture-portal-ucap"]
    code, out, err = run_discover(site.base_url)
    assert code == 0
    assert out.startswith("# ") and 'name = "discovered"' in out and "fixture = true" in out
    assert re.search(r"^5 sections of \d+ candidates, \d+ pages fetched$", err, re.M), err
    assert "图片新闻\t/sfs/tpxw/list.shtml\tjs-shell\t0 items\tno stated total\tneeds a browser" in err


def test_discover_obeys_robots_txt(tmp_path):
    site = portal_sites()[1]
    with FixtureServer([site]) as _:
        from fixtures.server import Reply

        site.pages["/robots.txt"] = Reply(b"User-agent: *\nDisallow: /zwgk/\n", 200, [("Content-Type", "text/plain")])
        site.requests.clear()
        code, out, _ = run_discover(site.base_url)
        assert code == 0
        assert not [r.path for r in site.requests if r.path.startswith("/zwgk/")]
        assert "政策文件" not in out and "工作动态" in out


def test_a_discovered_definition_crawls(portals, tmp_path):
    site = portals.sites["fixture-portal-trs"]
    out = tmp_path / "trs.toml"
    assert run_discover(site.base_url, "--out", str(out), "--name", site.name)[0] == 0
    db = tmp_path / "a.db"
    govnews("crawl", "--site", str(out), "--base-url", site.base_url, "--db", str(db), check=True)
    conn = sqlite3.connect(db)
    rows = dict(conn.execute("SELECT url, sections FROM articles"))
    expected = site.expected()
    assert set(rows) == set(expected)
    assert all(json.loads(rows[u]) == a.sections for u, a in expected.items())


@pytest.mark.parametrize("args, code, message", [
    ([], 2, "give the URL"),
    (["ftp://example.gov.cn/"], 2, "not an http(s) URL"),
    (["--check"], 2, "--check needs --site"),
    (["http://127.0.0.1:9/", "--out", "/nonexistent-dir/x.toml"], 2, "no directory /nonexistent-dir"),
])
def test_discover_usage_errors(args, code, message):
    got, _, err = run_discover(*args)
    assert got == code and message in err and "Traceback" not in err


def test_discover_of_a_site_that_does_not_answer():
    code, out, err = run_discover(f"http://127.0.0.1:{free_port()}/")
    assert code == 1 and out == "" and "no answer" in err and "Traceback" not in err


def test_name_vocabulary():
    assert names.kind("新闻中心") == names.kind("政府信息公开") == "hub"
    assert {names.kind(n) for n in ("工作动态", "通知公告", "政策解读", "国新图闻", "人事信息")} == {"section"}
    assert {names.kind(n) for n in ("首页", "互动交流", "省长信箱", "个人办事", "网站地图", "政府信息公开指南",
                                    "依申请公开", "联系我们")} == {None}


def _real(name: str) -> tuple[str, str]:
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared/realpages is absent")
    for line in (shared / "realpages" / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line) if line.strip() else {}
        if entry.get("file") == name:
            return entry["url"], (shared / "realpages" / name).read_bytes().decode("utf-8", "replace")
    pytest.skip(f"{name} is not in ../shared/realpages")


@pytest.mark.parametrize("page, found, not_found", [
    # TRS portal article page: the header's drop-down menus.
    ("pages/www.shanxi.gov.cn/t20190918_693227.html",
     [("山西要闻", "/yw/sxyw/", "menu"), ("通知公告", "/zw/tzgg/", "menu"), ("政策解读", "/yw/zcjd/", "menu")],
     ["省长信箱", "个人办事", "网站地图", "在线访谈"]),
    # Hanweb article page: the breadcrumb names its column and the 政府信息公开目录 hub.
    ("pages/www.jiangxi.gov.cn/art_4975_1510362.html",
     [("政策文件", "/col/col4975/index.html?number=0202", "breadcrumb"), ("政府信息公开目录", "/col/col4926/index.html", "breadcrumb")],
     ["首页"]),
    # Legacy static list page: its navigation names the registry's three scio sections.
    ("pages/www.scio.gov.cn/list_37234_index.html",
     [("国新要闻", "/37234/index.htm", "menu"), ("国新图闻", "/37232/index.htm", "menu"), ("新闻发布", "/xwfbh/index.htm", "menu")],
     ["留言", "首页"]),
    # UCAP article page: the breadcrumb's 目录 lists by code.
    ("pages/www.wanzai.gov.cn/tjgb_2022.html",
     [("工作动态", "/wzxrmzf/tjj/xxgk.shtml?code=gzdta&temp=xsqbmxxgk_lists&parentCode=fdzdgknrtj", "breadcrumb")],
     ["网站地图", "隐私声明"]),
    # Hanweb bureau article page: the 政务公开 menu of columns.
    ("pages/fgw.zj.gov.cn/art_1621004_30332664.html",
     [("政策文件", "/col/col1599528/index.html", "menu"), ("人事信息", "/col/col1599529/index.html", "menu")],
     ["互动交流", "联系我们"]),
])
def test_harvest_on_real_pages(page, found, not_found):
    url, text = _real(page)
    kept = {(link.text, link.url.split("://", 1)[1].split("/", 1)[1], link.how)
            for link in harvest(url, text) if names.kind(link.text)}
    for name, path, how in found:
        assert (name, path.lstrip("/"), how) in kept
    assert not {k[0] for k in kept} & set(not_found)


def test_portal_second_version_is_switchable_at_run_time():
    from crawler.listing.probe import probe

    site = portal_sites()[1]
    with FixtureServer([site]):
        base = site.base_url.rstrip("/")
        v1 = {p: probe(base + p) for p in ("/xwzx/tzgg/", "/zwgk/rsxx/", "/zwgk/zcwj/")}
        assert [len(r["items"]) for r in v1.values()] == [15, 7, 15]
        gone = site.taken_down()
        assert len(gone) == 8 and all(probe(base + p)["status"] == 200 for p in gone)
        with urllib.request.urlopen(base + "/_fixture/version?set=2") as resp:
            assert resp.read() == b"version 2\n"
        assert site.version == 2
        assert "通知公示" in probe(base + "/xwzx/")["url"] or "通知公示" in urllib.request.urlopen(base + "/xwzx/").read().decode("gbk")
        assert len(probe(base + "/xwzx/mtgz/")["items"]) == 9
        empty = probe(base + "/zwgk/rsxx/")
        assert empty["items"] == [] and empty["mechanism"] == "trs-createPageHTML" and empty["stated_items"] == 0
        assert probe(base + "/zwgk/zcwj/")["stated_items"] == 12
        assert all(probe(base + p)["status"] == 404 for p in gone)
        fresh = probe(base + "/xwzx/gzdt/")["items"][0]["url"]
        page = urllib.request.urlopen(fresh).read().decode("gbk")
        assert 'class="zw"' in page and "发布时间" not in page
        site.switch(1)
        assert probe(base + gone[0])["status"] == 200 and "通知公示" not in urllib.request.urlopen(base + "/xwzx/").read().decode("gbk")


@pytest.fixture
def trs_portal():
    site = portal_sites()[1]
    with FixtureServer([site], host="127.0.0.5"):
        yield site


def check(site, *args: str) -> tuple[int, str, str]:
    return run_discover("--check", "--site", *(args or (site.name,)), "--base-url", site.base_url)


def test_check_of_an_unchanged_site(trs_portal):
    code, out, err = check(trs_portal)
    assert code == 0, out + err
    assert out.splitlines()[0].startswith("fixture-portal-trs: no change (4 sections defined, 4 found, ")
    assert "unchanged 工作动态, 通知公告, 政策文件, 人事信息" in out


def test_check_reports_exactly_the_second_versions_changes(trs_portal):
    trs_portal.switch(2)
    code, out, err = check(trs_portal)
    assert code == 3, out + err
    assert out.splitlines()[0].startswith("fixture-portal-trs: 1 renamed, 1 new, 1 emptied (4 sections defined, 5 found")
    changes = [line for line in out.splitlines() if re.match(r"  (renamed|new|vanished|emptied|browser|unlinked) ", line)]
    assert changes == [
        "  renamed   通知公告 -> 通知公示  /xwzx/tzgg/",
        "  new       媒体关注  /xwzx/mtgz/  trs-createPageHTML · 9 items on page 1 · 共9条/共1页 · plain HTTP",
        "  emptied   人事信息  /zwgk/rsxx/  0 items on page 1 (the definition says 7)",
    ]
    # The new section, ready to paste.
    assert re.search(r'\[\[sections\]\]\n# found: menu "媒体关注" on /xwzx/\S* · trs-createPageHTML .*\nname = "媒体关注"\n'
                     r'url = "/xwzx/mtgz/"', out)


def test_check_tells_vanished_from_unlinked_and_moved(trs_portal, tmp_path):
    text = load_text(trs_portal.name).replace('url = "/xwzx/gzdt/"', 'url = "/xwzx/gzdt_old/"')
    text += '\n[[sections]]\nname = "机构职能"\nurl = "/jgzn/"\n\n[[sections]]\nname = "工作动态第二页"\nurl = "/xwzx/gzdt/index_1.html"\n'
    path = tmp_path / "trs-old.toml"
    path.write_text(text, encoding="utf-8")
    code, out, err = check(trs_portal, str(path))
    assert code == 3, out + err
    assert "  renamed   工作动态: /xwzx/gzdt_old/ -> /xwzx/gzdt/ (same name, new URL)" in out
    assert "  vanished  机构职能  /jgzn/  (HTTP 404)" in out
    assert re.search(r"  unlinked  工作动态第二页  /xwzx/gzdt/index_1.html  .*\(15 items on page 1\)", out)
    assert "  new " not in out


def test_check_leaves_out_ignored_sections(trs_portal, tmp_path):
    path = tmp_path / "trs.toml"
    path.write_text(load_text(trs_portal.name) + "\n# ignore: /xwzx/mtgz/\n", encoding="utf-8")
    trs_portal.switch(2)
    code, out, _ = check(trs_portal, str(path))
    assert code == 3 and out.splitlines()[0].startswith("fixture-portal-trs: 1 renamed, 1 emptied (")
    assert "媒体关注" not in out


@pytest.mark.parametrize("args, message", [
    (["--check", "--site", "no-such-site"], "no site definition 'no-such-site'"),
    (["--check", "--site", "fixture-portal-trs"], "pass --base-url"),
])
def test_check_usage_errors(args, message):
    code, _, err = run_discover(*args)
    assert code == 2 and message in err and "Traceback" not in err


def test_every_real_and_portal_definition_has_an_evidence_line_per_section():
    from crawler.sites import site_names

    names_ = site_names(fixtures=False) + sorted(EXPECTED)
    for name in names_:
        text = load_text(name)
        sections = text.count("[[sections]]")
        lines = re.findall(r"^\[\[sections\]\]\n# (?:evidence|found): \S.*$", text, re.M)
        assert sections and len(lines) == sections, name


def test_a_column_page_nothing_links_is_its_own_section(tmp_path):
    """fixture-static's list pages are linked from no menu: the start page itself is the candidate."""
    from fixtures.sites.walks import StaticPagerSite

    site = StaticPagerSite()
    with FixtureServer([site], host="127.0.0.6"):
        out = tmp_path / "static.toml"
        code, _, err = run_discover(site.base_url + "gzdt/index.htm", "--out", str(out))
        assert code == 0, err
        text = out.read_text(encoding="utf-8")
        assert blocks(text) == {('# found: start page "工作动态" on /gzdt/index.htm · static-pager · 12 items on page 1 · '
                                 '共30条/共3页 · plain HTTP', "工作动态", "/gzdt/index.htm")}
        assert "#   信息公开 /xxgk/: HTTP 404" in text


def _saved_site(name: str, pages: dict[str, str]):
    """A site serving saved real pages (../shared/realpages, read in place) at their own paths."""
    from fixtures.server import FixtureSite, Reply

    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared/realpages is absent")

    class Saved(FixtureSite):
        def build(self, base_url: str) -> None:
            for path, file in pages.items():
                self.pages[path] = Reply((shared / "realpages" / "pages" / file).read_bytes(), 200,
                                         [("Content-Type", "text/html; charset=utf-8")])

    site = Saved()
    site.name = name
    return site


@pytest.mark.parametrize("name, path, file, want", [
    # A legacy static column page: itself the section; its menu's siblings are candidates (not served here).
    ("scio", "/37234/index.htm", "www.scio.gov.cn/list_37234_index.html",
     ["  国新要闻\t/37234/index.htm\tstatic-pager\t24 items\t共775条/共33页\tplain HTTP"]),
    # A new-generation Hanweb column page drawn by script: a section that needs a browser.
    ("sthjt", "/jxssthjt/col/col42150/index.html", "sthjt.jiangxi.gov.cn/col42150_index.html",
     ["  政策法规解读\t/jxssthjt/col/col42150/index.html\thanweb-querylist\t0 items\tno stated total\t"
      "needs a browser (JavaScript shell (handlebars template))"]),
    # An article page is no section (its breadcrumb links another host here).
    ("jiangxi", "/art/2020/2/26/art_4975_1510362.html", "www.jiangxi.gov.cn/art_4975_1510362.html", []),
])
def test_discover_on_saved_real_column_pages(name, path, file, want):
    site = _saved_site(name, {path: file})
    with FixtureServer([site], host="127.0.0.7"):
        code, out, err = run_discover(site.base_url.rstrip("/") + path)
    assert [line for line in err.splitlines() if line.startswith("  ")] == want, err
    assert code == (0 if want else 1)
    if name == "scio":
        assert "#   国新图闻 /37232/index.htm: HTTP 404" in out and "#   新闻发布 /xwfbh/index.htm: HTTP 404" in out
