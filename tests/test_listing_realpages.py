"""Real listing pages from ../shared/realpages (read in place, never copied) against their hand-made gold."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urljoin

import pytest

from crawler.listing import extract_listing

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GOVNEWS_SHARED") or REPO / ".." / "shared")
CORPUS = SHARED / "realpages"


def _listings() -> list[dict]:
    manifest = CORPUS / "manifest.jsonl"
    if not manifest.exists():
        return []
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["kind"] == "listing"]


PAGES = _listings()


@pytest.mark.skipif(not PAGES, reason="../shared/realpages is not present")
@pytest.mark.parametrize("page", PAGES, ids=[p["file"] for p in PAGES] or None)
def test_real_listing_matches_gold(page: dict) -> None:
    gold_path = CORPUS / "gold" / Path(page["file"]).relative_to("pages").with_suffix(".json")
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    url = page.get("url") or ""
    got = extract_listing(url, (CORPUS / page["file"]).read_bytes())
    want_links = {urljoin(url, i.get("href") or i.get("url")) for i in gold["items"]}
    have_links = {i["url"] for i in got["items"]}
    assert have_links == want_links
    if gold.get("next_page"):
        assert got["next_page"] == urljoin(url, gold["next_page"])
    if gold.get("total_pages"):
        assert got["total_pages"] == gold["total_pages"]
    if not gold["items"]:
        assert got["shell"], "a page without a list must say why"
