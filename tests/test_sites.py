"""Site definitions load and validate with clear errors."""

from __future__ import annotations

import pytest

from crawler.sites import SiteError, load_site, parse_site, site_names
from crawler.urls import url_allowed


def test_every_definition_loads():
    for name in site_names():
        site = load_site(name, "http://127.0.0.1:9/" if name.startswith("fixture-") else None)
        assert site.sections and all(s.name and s.url.startswith("http") for s in site.sections)
        for s in site.sections:
            assert url_allowed(s.url, site.allowed_hosts)


def test_render_mode_is_per_section_with_the_site_as_default():
    site = parse_site({"name": "x", "base_url": "https://a.gov.cn/", "render": "http", "sections": [
        {"name": "a", "url": "/a"}, {"name": "b", "url": "/b", "render": "browser"}]}, "test.toml")
    assert [s.render for s in site.sections] == ["http", "browser"]
    assert [s.render for s in load_site("fixture-shells", "http://127.0.0.1:1/").sections] == [
        "auto", "browser", "auto", "auto"]


def test_fixture_site_needs_a_base_url():
    with pytest.raises(SiteError, match="base_url"):
        load_site("fixture-changzhou")


@pytest.mark.parametrize("data, message", [
    ({"name": "x", "base_url": "https://a.gov.cn/", "sections": [{"name": "s", "url": "/l"}], "colour": 1}, "unknown key"),
    ({"name": "x", "base_url": "https://a.gov.cn/", "sections": [{"url": "/l"}]}, "missing section 'name'"),
    ({"name": "x", "base_url": "ftp://a.gov.cn/", "sections": [{"name": "s", "url": "/l"}]}, "not an absolute http"),
    ({"name": "x", "base_url": "https://a.gov.cn/", "sections": [{"name": "s", "url": "https://b.gov.cn/l"}]}, "outside allowed_hosts"),
    ({"name": "x", "base_url": "https://a.gov.cn/", "sections": []}, "no \\[\\[sections\\]\\]"),
    ({"name": "x", "base_url": "https://a.gov.cn/", "sections": [
        {"name": "s", "url": "/l", "listing": {"json_fields": {"link": "URL"}}}]}, "json_fields"),
    ({"name": "x", "base_url": "https://a.gov.cn/", "sections": [
        {"name": "s", "url": "/l", "listing": {"json_fields": {"url": 3}}}]}, "json_fields"),
    ({"name": "x", "base_url": "https://a.gov.cn/", "sections": [{"name": "s", "url": "/l", "render": "js"}]},
     "render must be one of"),
    ({"name": "x", "base_url": "https://a.gov.cn/", "render": True, "sections": [{"name": "s", "url": "/l"}]},
     "render must be one of"),
])
def test_invalid_definitions_are_refused(data, message):
    with pytest.raises(SiteError, match=message):
        parse_site(data, "test.toml")


def test_crawl_reports_config_errors_with_exit_2(tmp_path):
    from tests.conftest import govnews

    done = govnews("crawl", "--site", "no-such-site", "--db", str(tmp_path / "a.db"))
    assert done.returncode == 2
    assert "no site definition" in done.stderr
