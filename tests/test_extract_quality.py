"""Extraction quality: flags on suspicious records, where each field came from, and where they show
(archive columns, the Datasette facet, per-section counts in crawl_runs); per-site overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from scrapy.utils.test import get_crawler

from archive.store import Archive
from crawler.cli import cli
from crawler.extract.cases import find_cases, load
from crawler.items import Article
from crawler.sites import SiteError, load_site, parse_site
from crawler.writer import ArchiveWriter

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"


def _flags(name: str) -> list[str]:
    return load(PAGES / name).run()["quality_flags"]


def test_a_column_index_fetched_as_an_article_is_flagged_link_body() -> None:
    assert "link_body" in _flags("quality/column_index_as_article")


def test_a_page_without_headline_or_date_is_flagged_site_title_and_no_date() -> None:
    assert _flags("quality/site_name_title_no_date") == ["no_date", "site_title"]


def test_contact_card_as_body_is_flagged_meta_body() -> None:
    assert _flags("quality/contact_card_body") == ["meta_body"]


def test_ordinary_articles_carry_no_flags_and_name_their_sources() -> None:
    for case in find_cases(PAGES, "article"):
        if case.path.parent.name == "quality":
            continue
        rec = case.run()
        assert rec["quality_flags"] == [], case.name
        assert rec["field_sources"]["title"] and rec["field_sources"]["body"] == rec["family"], case.name


def _site(tmp_path: Path, overrides: str = "") -> Path:
    toml = tmp_path / "q.toml"
    toml.write_text(f'name = "q"\nbase_url = "http://127.0.0.1:9/"\n{overrides}\n'
                    '[[sections]]\nname = "news"\nurl = "/news/"\n', encoding="utf-8")
    return toml


def test_flags_are_archive_columns_and_counted_per_section_in_crawl_runs(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    crawler = get_crawler(settings_dict={"GOVNEWS_DB": str(db)})
    writer = ArchiveWriter(crawler)
    writer.open_run(load_site(str(_site(tmp_path))))
    good = load(PAGES / "trs" / "t20250106_gbk").run()
    bad = load(PAGES / "quality" / "site_name_title_no_date").run()
    for rec in (good, bad):
        writer.write(Article("news", {**rec, "site": "q"}))
    writer.finish_run("finished")
    writer.close()
    with Archive(db) as archive:
        rows = dict(archive.db.execute("SELECT url, quality FROM articles").fetchall())
        assert rows == {good["url"]: "ok", bad["url"]: "no_date,site_title"}
        sources = json.loads(archive.db.execute("SELECT field_sources FROM articles WHERE url = ?",
                                                [good["url"]]).fetchone()[0])
        assert sources["published"] == "label:header" and sources["body"] == "trs"
        sections = json.loads(archive.db.execute("SELECT sections FROM crawl_runs").fetchone()[0])
        assert sections["news"]["flagged"] == 1 and sections["news"]["flag_no_date"] == 1
        assert sections["news"]["flag_site_title"] == 1 and "flag_link_body" not in sections["news"]


def test_an_older_archive_gets_the_quality_columns_and_the_facet(tmp_path: Path) -> None:
    import sqlite3

    from archive.datasette_plugin import archive_metadata
    from archive.searching.browse import TRIGGER_NAMES

    db = tmp_path / "old.db"
    Archive(db).close()
    conn = sqlite3.connect(db)
    conn.execute("DROP INDEX IF EXISTS idx_articles_quality_published")
    # An archive from before the quality column had no trigger naming it either (SQLite refuses to drop a
    # column a trigger uses): drop the facet triggers too, as that archive had its older ones.
    for name in TRIGGER_NAMES:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute("ALTER TABLE articles DROP COLUMN quality")
    conn.commit()
    conn.close()
    with Archive(db) as archive:
        cols = archive.db["articles"].columns_dict
        assert "quality" in cols and "field_sources" in cols
        tables = {t: set(archive.db[t].columns_dict) for t in archive.db.table_names()}
        schema = {"tables": tables, "article_columns": tables["articles"]}
    assert "quality" in archive_metadata(schema)["tables"]["articles"]["facets"]


@pytest.mark.parametrize("overrides, message", [
    ('overrides = { headline = "h1" }', "unknown override"),
    ('overrides = { title = "h1[" }', "invalid selector"),
    ('overrides = { date = "//span[@class=" }', "invalid selector"),
    ('overrides = { body = "" }', "must be a CSS selector"),
])
def test_invalid_overrides_are_refused_on_load(tmp_path: Path, overrides: str, message: str) -> None:
    with pytest.raises(SiteError, match=message):
        load_site(str(_site(tmp_path, overrides)))


def test_section_overrides_are_checked_too() -> None:
    data = {"name": "x", "base_url": "https://a.gov.cn/",
            "sections": [{"name": "s", "url": "/l", "overrides": {"source": "div..x"}}]}
    with pytest.raises(SiteError, match=r"sections\[0\]: overrides.source"):
        parse_site(data, "t.toml")


def test_probe_and_extract_show_and_apply_site_overrides(tmp_path: Path) -> None:
    toml = _site(tmp_path, 'overrides = { title = "div.leader-title", source = "//span[@id=\'ly\']" }')
    listing = load(Path(__file__).resolve().parents[1] / "fixtures" / "listings" / "xxgk_abbrev_keys")
    out = CliRunner().invoke(cli, ["probe", str(listing.page), "--url", listing.url, "--site", str(toml),
                                   "--section", "news"])
    assert out.exit_code == 0, out.output
    assert "site:        q / news" in out.output
    assert "overrides:   source=//span[@id='ly']  title=div.leader-title" in out.output
    bad = CliRunner().invoke(cli, ["probe", str(listing.page), "--site", str(toml), "--section", "nope"])
    assert bad.exit_code == 2 and "no section 'nope'" in bad.output


def test_a_body_that_is_its_attachment_links_is_not_a_link_list() -> None:
    from crawler.extract import extract_article

    links = "".join(f'<p><a href="/files/2025/{i}.pdf">示例县2025年第{i}批项目清单.pdf</a></p>' for i in range(4))
    page = (f'<html><head><title>项目清单公示_示例县人民政府</title></head><body><h1>项目清单公示</h1>'
            f'<div class="TRS_Editor">{links}</div></body></html>').encode()
    rec = extract_article("http://www.example-xian.gov.cn/gsgg/202504/t20250401_1.html", page)
    assert len(rec["attachments"]) == 4 and rec["quality_flags"] == []
