"""Real listing pages from ../shared/realpages (read in place, never copied) against their hand-made gold."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from crawler.listing import extract_listing
from tests.shared_corpus import realpages

PAGES = realpages("listing")


@pytest.mark.skipif(not PAGES, reason="../shared/realpages is not present")
@pytest.mark.parametrize("page", PAGES, ids=[p["file"] for p in PAGES] or None)
def test_real_listing_matches_gold(page: dict) -> None:
    gold, url = page["gold"], page.get("url") or ""
    got = extract_listing(url, page["path"].read_bytes())
    want_links = {urljoin(url, i.get("href") or i.get("url")) for i in gold["items"]}
    assert {i["url"] for i in got["items"]} == want_links
    if gold.get("next_page"):
        assert got["next_page"] == urljoin(url, gold["next_page"])
    if gold.get("total_pages"):
        assert got["total_pages"] == gold["total_pages"]
    if not gold["items"]:
        assert got["shell"], "a page without a list must say why"
