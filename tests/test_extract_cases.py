"""Fixture cases: one format for pages and listings; `govnews extract/links --save-fixture DIR`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from crawler.cli import cli
from crawler.extract.cases import find_cases, load

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_every_fixture_directory_is_one_case_format() -> None:
    for kind, root in (("article", FIXTURES / "pages"), ("listing", FIXTURES / "listings")):
        cases = find_cases(root)
        assert cases and {c.kind for c in cases} == {kind}
        for c in cases:
            assert {p.name for p in c.path.iterdir()} == {c.page.name, "meta.json", "expected.json"}, c.path
        # No page lies outside a case (a page without its meta.json and expected.json is not tested).
        loose = [p for p in root.rglob("*") if p.is_file() and p.parent not in {c.path for c in cases}]
        assert [p.name for p in loose] == ["README.md"] * len(loose), loose


def test_save_fixture_writes_a_case_that_passes(tmp_path: Path) -> None:
    src = load(FIXTURES / "pages" / "xxgk" / "stacked_and_two_column")
    saved = tmp_path / "page.html"
    saved.write_bytes(src.page.read_bytes())
    out = CliRunner().invoke(cli, ["extract", str(saved), "--url", src.url, "--save-fixture", str(tmp_path / "new")])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["title"] == src.expected()["title"]
    case = load(tmp_path / "new")
    assert case.kind == "article" and case.url == src.url and case.page.name == "page.html"
    assert case.expected() == src.expected()  # same page, same URL: the same expectation as the fixture
    # A second save to the same place is refused with a usage error (exit 2), not overwritten.
    again = CliRunner().invoke(cli, ["extract", str(saved), "--url", src.url, "--save-fixture", str(tmp_path / "new")])
    assert again.exit_code == 2 and "already there" in again.output


def test_links_save_fixture_writes_a_listing_case(tmp_path: Path) -> None:
    src = load(FIXTURES / "listings" / "xxgk_abbrev_keys")
    out = CliRunner().invoke(cli, ["links", str(src.page), "--url", src.url, "--save-fixture", str(tmp_path / "l")])
    assert out.exit_code == 0, out.output
    case = load(tmp_path / "l")
    assert case.kind == "listing" and case.page.name == "page.json"
    assert case.expected()["items"] == src.expected()["items"]
    assert case.expected()["fields"]["date"] == "FBRQ"
