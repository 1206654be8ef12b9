"""Brotli-serving sites (issue 11, item 2): every WARC reader we ship reads back what the crawl wrote.

The crawler asks for gzip and deflate only, so a server that honours Accept-Encoding never answers br
and `warcio check`, `wacz validate` and `govnews warc verify` pass. A server that sends br unasked is
archived as received; our own readers (verify, WACZ indexing) read such records too.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.warc import warc_files
from fixtures.faults import compress_site
from fixtures.server import FixtureServer
from fixtures.sites.changzhou import ChangzhouSite
from tests.conftest import REPO, govnews
from tests.crawlkit import q
from tests.test_warc import warcio_check


@pytest.fixture
def brotli_site():
    site = ChangzhouSite()
    with FixtureServer([site]) as server:
        yield server, site


def _crawl_and_package(server, site, tmp_path):
    db = tmp_path / "a.db"
    govnews("crawl", "--site", "fixture-changzhou", "--base-url", site.base_url, "--db", str(db), check=True)
    wacz = tmp_path / "a.wacz"
    govnews("export", "wacz", "--db", str(db), "-o", str(wacz), check=True)
    verify = govnews("warc", "verify", "--db", str(db))
    validate = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(wacz)], capture_output=True,
                              text=True, cwd=REPO)
    return db, warc_files(tmp_path / "a-warc"), verify, validate


def _encodings(files) -> set[str]:
    seen = set()
    for path in files:
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_type == "response":
                    seen.add(rec.http_headers.get_header("Content-Encoding") or "identity")
    return seen


def test_a_site_that_serves_br_when_asked_gets_readable_warcs(brotli_site, tmp_path):
    server, site = brotli_site
    compress_site(site, "br", only_if_asked=True)
    db, files, verify, validate = _crawl_and_package(server, site, tmp_path)
    assert q(db, "SELECT count(*) FROM articles")[0][0] > 100
    assert all("br" not in (r.headers.get("accept-encoding") or "") for r in site.requests)
    assert "br" not in _encodings(files)
    assert warcio_check(files).returncode == 0
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert validate.returncode == 0 and "Validation succeeded" in validate.stdout, validate.stdout


def test_br_sent_unasked_is_archived_and_read_by_our_readers(brotli_site, tmp_path):
    server, site = brotli_site
    compress_site(site, "br", only_if_asked=False)
    db, files, verify, validate = _crawl_and_package(server, site, tmp_path)
    assert q(db, "SELECT count(*) FROM articles")[0][0] > 100
    assert "br" in _encodings(files)  # as received
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert validate.returncode == 0 and "Validation succeeded" in validate.stdout, validate.stdout
