"""`govnews search` says how many results exist and how to see more; bad input gets one line and exit 2;
XLSX exports open with a frozen, bold header and readable column widths."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from archive import search
from archive.cli import cli
from archive.store import Archive


@pytest.fixture
def small_archive(tmp_path):
    db = tmp_path / "a.db"
    with Archive(db) as archive:
        for i in range(25):
            archive.save_article({"url": f"https://s.gov.cn/{i:02d}.html", "site": "s", "title": f"通知{i:02d}",
                                  "published": f"2024-03-{1 + i:02d}", "body": "市政协召开会议。" if i < 23 else "其他。",
                                  "content_hash": str(i), "attachments": []})
    return db


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_count_matches_counts_every_page(small_archive):
    with Archive(small_archive) as a:
        assert search.count_matches(a.db, "政协") == 23
        assert search.count_matches(a.db, "没有的词") == 0
        assert len(list(search.search(a.db, "政协", limit=10, offset=20))) == 3


def test_search_prints_the_total_and_how_to_see_more(small_archive):
    out = run("search", "政协", "--db", str(small_archive), "--limit", "10", "--order", "newest")
    assert out.exit_code == 0
    assert out.output.rstrip().splitlines()[-1] == "23 results, showing 1–10; more: --offset 10"
    assert out.output.count("https://s.gov.cn/") == 10
    out = run("search", "政协", "--db", str(small_archive), "--limit", "10", "--offset", "20", "--order", "newest")
    assert out.output.rstrip().splitlines()[-1] == "23 results, showing 21–23"
    # Newest first, from the 21st: articles 02, 01, 00.
    assert [line.strip() for line in out.output.splitlines() if "s.gov.cn" in line] == [
        f"https://s.gov.cn/{i:02d}.html" for i in (2, 1, 0)]
    out = run("search", "没有的词", "--db", str(small_archive))
    assert out.exit_code == 0 and out.output == "0 results\n"


@pytest.mark.parametrize("query", ["", "   ", "，。！"])
def test_empty_search_is_a_usage_error(small_archive, query):
    out = CliRunner().invoke(cli, ["search", query, "--db", str(small_archive)])
    assert out.exit_code == 2
    assert out.output.count("\n") == 1 and "nothing to search for" in out.output


@pytest.mark.parametrize("opt,value", [("--since", "2024-13-45"), ("--until", "2024-02-30"), ("--since", "yesterday"),
                                       ("--until", "2024-1-5")])
def test_export_refuses_impossible_dates(small_archive, tmp_path, opt, value):
    out = CliRunner().invoke(cli, ["export", "--db", str(small_archive), "--out", str(tmp_path / "x.csv"), opt, value])
    assert out.exit_code == 2, out.output
    assert out.output == f"govnews export: {opt} {value!r} is not a date (YYYY-MM-DD, e.g. 2024-01-31)\n"
    assert not (tmp_path / "x.csv").exists()


def test_export_accepts_real_dates(small_archive, tmp_path):
    for since, until, n in (("2024-03-20", "2024-03-21", 2), ("2024", "2024-03", 25), ("2024-02-29", "2024-03-01", 1)):
        out = run("export", "--db", str(small_archive), "--out", str(tmp_path / "x.csv"), "--since", since,
                  "--until", until)
        assert out.exit_code == 0 and f": {n} articles" in out.output, (since, until, out.output)


def test_xlsx_has_a_frozen_bold_header_and_widths(small_archive, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "a.xlsx"
    assert run("export", "--db", str(small_archive), "--format", "xlsx", "--out", str(out)).exit_code == 0
    ws = load_workbook(out)["articles"]
    assert ws.freeze_panes == "A2"
    header = [c for c in ws[1]]
    assert [c.value for c in header[:3]] == ["url", "title", "published"]
    assert all(c.font.bold for c in header)
    assert not ws["A2"].font.bold
    widths = {c.value: ws.column_dimensions[c.column_letter].width for c in header}
    assert widths["body"] == 80 and widths["url"] == 45 and widths["title"] == 50
    assert all(w >= 12 for w in widths.values())
    assert ws.max_row == 26
