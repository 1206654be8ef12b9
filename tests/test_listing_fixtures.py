"""Authored listing pages (fixtures/listings/*) against the expected output saved beside each page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.listing import extract_listing

LISTINGS = Path(__file__).resolve().parents[1] / "fixtures" / "listings"
CASES = sorted(LISTINGS.glob("*.expected.json"))


def _headers(meta: dict) -> dict:
    ctype = "application/json" if meta["page"].endswith(".json") else "text/html"
    return {"Content-Type": f"{ctype}; charset={meta['encoding']}"}


@pytest.mark.parametrize("case", CASES, ids=[c.name.split(".")[0] for c in CASES])
def test_listing_fixture(case: Path) -> None:
    meta = json.loads(case.read_text(encoding="utf-8"))
    want = meta["expected"]
    body = (LISTINGS / meta["page"]).read_bytes()
    hints = {"request": want["request"]} if "request" in want else None
    got = extract_listing(meta["url"], body, _headers(meta), hints)
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
    mechanisms = {json.loads(c.read_text(encoding="utf-8"))["expected"]["mechanism"] for c in CASES}
    assert {"trs-createPageHTML", "static-pager", "next-link", "numbered-links", "ns_class", "json-html",
            "hanweb-jpage-post", "hanweb-jpage-get", "hanweb-dataproxy-get", "hanweb-dataproxy-post",
            "page-param", "json-records", "js-shell"} <= mechanisms
