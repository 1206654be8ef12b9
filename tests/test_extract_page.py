"""The article page object: one context per page, one method per field, each field on its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.extract.cases import find_cases
from crawler.extract.page import FIELDS, ArticlePage

CASES = find_cases(Path(__file__).resolve().parents[1] / "fixtures" / "pages", "article")


@pytest.mark.parametrize("case", CASES[::4], ids=[c.name for c in CASES[::4]])
def test_each_field_method_alone_gives_the_record_value(case) -> None:
    whole = case.run()
    body = case.page.read_bytes()
    for name in reversed(FIELDS):  # any order, each on a fresh page: no field depends on another's call
        page = ArticlePage.from_bytes(case.url, body, case.headers, case.inputs or None)
        assert getattr(page, name)() == whole[name], name


def test_provenance_says_where_each_field_came_from() -> None:
    by_name = {c.name: c for c in CASES}
    page = ArticlePage.from_bytes(*_inputs(by_name["xxgk/pairs_per_row_inside_body"]))
    page.to_item()
    assert page.provenance["published"] == "table"  # 发文日期 in the metadata table
    assert page.provenance["source"] == "table" and page.provenance["body"] == "trs"
    page = ArticlePage.from_bytes(*_inputs(by_name["trs/t20241231_4400017_nodate"]))
    page.to_item()
    assert page.provenance["published"] == "url"
    page = ArticlePage.from_bytes(*_inputs(by_name["override/xiangxi_2025_0106"]))
    page.to_item()
    assert {page.provenance[k] for k in ("title", "published", "source", "body")} == {"override"}


def _inputs(case):
    return case.url, case.page.read_bytes(), case.headers, case.inputs or None
