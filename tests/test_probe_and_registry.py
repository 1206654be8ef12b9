"""`govnews probe` on saved pages and live loopback pages, and the real-site registry's evidence."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crawler.extract.cases import load
from crawler.sites import SITES_DIR, SiteError, load_site, parse_site, site_names
from fixtures.server import FixtureServer
from fixtures.sites.walks import WALK_SITES
from tests.conftest import govnews

LISTINGS = Path(__file__).resolve().parents[1] / "fixtures" / "listings"


def test_probe_a_saved_page():
    case = load(LISTINGS / "trs_index_gbk")
    expected = case.expected()
    done = govnews("probe", str(case.page), "--url", case.url, check=True)
    assert "mechanism:   trs-createPageHTML" in done.stdout
    assert f"items:       {len(expected['items'])}" in done.stdout
    assert expected["next_page"] in done.stdout


@pytest.mark.parametrize("name, path, mechanism", [
    ("fixture-static", "/gzdt/index.htm", "static-pager"),
    ("fixture-static", "/tzgg/list_1.html", "numbered-links"),
    ("fixture-hanweb", "/col/col4101/index.html", "hanweb-jpage-post"),
    ("fixture-hanweb", "/col/col4102/index.html", "hanweb-jpage-get"),
    ("fixture-pageparam", "/web/news/list.jsp?catId=1&pageNo=1", "page-param"),
    ("fixture-pageparam", "/api-gateway/front/column/list?columnId=2&page=1", "json-html"),
    ("fixture-shells", "/app/news", "js-shell"),
])
def test_probe_live_loopback_pages(name, path, mechanism):
    with FixtureServer([cls() for cls in WALK_SITES if cls.name == name]) as server:
        url = server.sites[name].base_url.rstrip("/") + path
        result = json.loads(govnews("probe", url, "--json", check=True).stdout)
    assert result["mechanism"] == mechanism
    assert bool(result["items"]) == (mechanism != "js-shell")


def test_probe_reports_an_anti_bot_status():
    with FixtureServer([cls() for cls in WALK_SITES if cls.name == "fixture-shells"]) as server:
        url = server.sites["fixture-shells"].base_url + "guarded/list.html"
        done = govnews("probe", url, check=True)
    assert "HTTP 412" in done.stdout and "needs a browser" in done.stdout


REAL = site_names(fixtures=False)


def test_registry_has_the_required_real_sites():
    assert {"changzhou", "zx-changzhou", "jiangsu"} <= set(REAL)
    assert len(set(REAL) - {"changzhou", "zx-changzhou", "jiangsu"}) >= 5


@pytest.mark.parametrize("name", REAL)
def test_every_real_definition_cites_its_evidence(name):
    text = (SITES_DIR / f"{name}.toml").read_text(encoding="utf-8")
    comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert re.search(r"(?i)evidence", comments), name
    site = load_site(name)
    assert not site.fixture and site.polite
    # Every listing URL's path is written out in the evidence comment, or its column code is.
    for s in site.sections:
        path = s.url.split("://", 1)[1].split("/", 1)[1]
        code = re.findall(r"\d{4,}|[A-Z]{8}", path)
        assert path in comments or any(c in comments for c in code), (name, s.url)


@pytest.mark.parametrize("listing, message", [
    ({"mechanism": "teleport"}, "unknown listing mechanism"),
    ({"mechanism": "page-param", "colour": 1}, "unknown listing key"),
    ({"params": "gi=1"}, "must be a table"),
])
def test_listing_hints_are_validated(listing, message):
    data = {"name": "x", "base_url": "https://a.gov.cn/", "sections": [{"name": "s", "url": "/l", "listing": listing}]}
    with pytest.raises(SiteError, match=message):
        parse_site(data, "test.toml")
