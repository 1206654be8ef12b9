"""What a new user meets on the command line (issue 11, CLI messages): a clear line and a documented
exit code, never a traceback. In-process through click's CliRunner where no crawl runs; real
processes where one does."""

from __future__ import annotations

import sqlite3
import sys

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from fixtures.server import FixtureServer
from fixtures.sites.mini import MiniSite
from tests.conftest import free_port, govnews
from tests.small_disk import namespace_unavailable, run_on_small_disk


@pytest.mark.parametrize("what, data", [
    ("binary data", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8),
    ("an SQLite database", None),
    ("an empty file", b""),
])
@pytest.mark.parametrize("command", ["extract", "links"])
def test_extract_and_links_refuse_what_is_not_an_html_page(tmp_path, command, what, data):
    page = tmp_path / "page.bin"
    if data is None:
        sqlite3.connect(page).execute("CREATE TABLE t (x)").connection.commit()
    else:
        page.write_bytes(data)
    result = CliRunner().invoke(cli, [command, str(page)])
    assert result.exit_code == 2, result.output
    assert result.output == f"govnews {command}: {page} is not an HTML page ({what})\n"


def test_db_in_a_missing_directory_is_a_usage_error_unless_asked(tmp_path):
    db = tmp_path / "no" / "such" / "dir" / "x.db"
    result = CliRunner().invoke(cli, ["crawl", "--site", "fixture-changzhou", "--base-url", "http://127.0.0.1:9/",
                                      "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert result.output == (f"govnews crawl: no directory {db.parent} for --db {db}: create it, or pass "
                             "--create-dirs\n")
    assert not (tmp_path / "no").exists()


def test_create_dirs_creates_the_directory(tmp_path):
    site = MiniSite(["/a/1.html"])
    db = tmp_path / "new" / "dir" / "x.db"
    with FixtureServer([site]):
        done = govnews("crawl", "--site", str(site.definition(tmp_path)), "--base-url", site.base_url,
                       "--db", str(db), "--create-dirs")
    assert done.returncode == 0, done.stderr[-2000:]
    assert db.is_file()


def test_refused_connection_gives_warnings_and_the_summary_only(tmp_path):
    # A port nobody listens on: robots.txt and every section are refused.
    done = govnews("crawl", "--site", "fixture-changzhou", "--base-url", f"http://127.0.0.1:{free_port()}/",
                   "--db", str(tmp_path / "a.db"))
    assert done.returncode == 1
    assert done.stdout.startswith("fixture-changzhou: partial run=1 ")
    lines = done.stderr.splitlines()
    assert lines and all(" WARNING: " in line for line in lines), done.stderr
    assert "Traceback" not in done.stderr and " ERROR: " not in done.stderr
    assert sum("robots.txt of 127.0.0.1:" in line and "connection_refused" in line for line in lines) == 1
    assert sum(": connection_refused: " in line for line in lines) == 3  # the three sections


def test_crawl_on_a_read_only_archive_is_one_line_exit_2(tmp_path):
    why = namespace_unavailable()
    if why:
        pytest.skip(why)
    site = MiniSite(["/a/1.html"])
    disk = tmp_path / "disk"
    with FixtureServer([site]):
        crawl = [sys.executable, "-m", "crawler.cli", "crawl", "--site", str(site.definition(tmp_path)),
                 "--base-url", site.base_url, "--db", str(disk / "a.db")]
        first, _, again = run_on_small_disk("4m", disk, tmp_path / "out.json", [crawl, ["remount", "ro"], crawl])
    assert first["returncode"] == 0, first["stderr"][-2000:]
    assert again["returncode"] == 2, again["stderr"][-2000:]
    assert again["stdout"] == ""
    assert again["stderr"].startswith("govnews crawl: cannot write the archive ")
    assert "Read-only file system" in again["stderr"] and len(again["stderr"].splitlines()) == 1
