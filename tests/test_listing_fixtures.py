"""Authored listing pages (fixtures/listings/<case>/{page.*, meta.json, expected.json})."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.extract.cases import Case, find_cases

LISTINGS = Path(__file__).resolve().parents[1] / "fixtures" / "listings"
CASES = find_cases(LISTINGS, "listing")


@pytest.mark.parametrize("case", CASES, ids=[c.path.name for c in CASES])
def test_listing_fixture(case: Case) -> None:
    want = case.expected()
    got = case.run()
    assert [(i["url"], i["date"]) for i in got["items"]] == [(i["url"], i["date"]) for i in want["items"]]
    assert [i["title"] for i in got["items"]] == [i["title"] for i in want["items"]]
    assert got["next_page"] == want["next_page"]
    assert got["total_pages"] == want["total_pages"]
    assert got["mechanism"] == want["mechanism"]
    if "fields" in want:  # JSON record answers: which record keys gave url, title and date
        assert got["fields"] == want["fields"]
    for have, expect in zip(got["requests"], want.get("requests", []), strict=True):
        for key, value in expect.items():
            assert have[key] == value, key
    if want["mechanism"] == "js-shell":
        assert got["shell"]
    else:
        assert got["shell"] is None


def test_fixture_set_covers_every_mechanism() -> None:
    mechanisms = {c.expected()["mechanism"] for c in CASES}
    assert {"trs-createPageHTML", "static-pager", "next-link", "numbered-links", "ns_class", "json-html",
            "hanweb-jpage-post", "hanweb-jpage-get", "hanweb-dataproxy-get", "hanweb-dataproxy-post",
            "page-param", "json-records", "js-shell"} <= mechanisms
