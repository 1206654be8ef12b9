"""`govnews demo` (what `make demo` runs) crawls every fixture site, can be run again, and serves the archive
with Datasette and its archived copies with pywb beside it."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from archive.attachments.cli import ocr_available
from archive.replay import ReplayUnavailable, replay_url, wayback_executable
from archive.warc import payload_digest
from crawler.demo import demo_sites
from tests.conftest import REPO, free_port, govnews, wait_http


def expected_articles() -> int:
    expected = 0
    for site in demo_sites()[0]:
        site.build("http://127.0.0.1:9/")
        known = set(site.articles)
        if hasattr(site, "second_edition"):  # crawled again: its new articles join (the retracted one stays)
            site.second_edition()
        expected += len(known | set(site.articles))
    return expected


def check_archive(db: Path, stdout: str, expected: int) -> None:
    assert "failed=0" in stdout
    conn = sqlite3.connect(db)
    try:
        sites = {r[0] for r in conn.execute("SELECT DISTINCT site FROM articles")}
        assert sites == {s.name for s in demo_sites()[0]}
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == expected >= 150
        # The second crawl of fixture-edits left changes to look at.
        assert conn.execute("SELECT count(*) FROM article_versions WHERE version > 1").fetchone()[0] == 4
        assert conn.execute("SELECT count(*) FROM articles WHERE gone_at IS NOT NULL").fetchone()[0] == 1
        if "fixture-docs" in sites:  # its documents' text extracted, the sample scan read by OCR when it can be
            texts = dict(conn.execute("SELECT substr(url, instr(url, '/P0') + 3), method FROM attachment_text"))
            assert texts["2025czzj02.docx"] == "text-layer"
            assert texts["2025czzj07.pdf"] == ("ocr" if ocr_available("chi_sim") is None else "none")
            assert "2025czzj10.xls" in texts and "attachments: 10 extracted (8 ok, 2 failed)" in stdout
    finally:
        conn.close()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.mark.timeout(1200)  # two whole demos: every fixture site crawled twice, attachments extracted, a scan OCR'd
def test_demo_crawls_every_fixture_site_reruns_cleanly_and_serves_replay_beside_datasette(tmp_path):
    db = tmp_path / "demo.db"
    expected = expected_articles()
    done = govnews("demo", "--no-serve", "--db", str(db), check=True, timeout=900)
    check_archive(db, done.stdout, expected)
    # Again, serving this time: Datasette, and pywb beside it when .venv-replay has it.
    try:
        wayback_executable()
        replay_port = free_port()
    except ReplayUnavailable:
        replay_port = 0
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "demo", "--db", str(db), "--port", str(port),
                             "--replay-port", str(replay_port)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out = []
        for line in proc.stdout:  # the crawls, then the summary and where it serves
            out.append(line)
            if line.startswith("Datasette: "):
                break
        check_archive(db, "".join(out), expected)
        datasette = f"http://127.0.0.1:{port}"
        wait_http(f"{datasette}/-/versions.json", timeout=120)
        assert get(f"{datasette}/demo/articles")[0] == 200
        conn = sqlite3.connect(db)
        url, img_url, img_digest, img_date = conn.execute(
            "SELECT a.url, c.url, c.payload_digest, c.warc_date FROM articles a JOIN json_each(a.images) j "
            "JOIN captures c ON c.url = json_extract(j.value, '$.url') AND c.kind = 'image' AND c.status = 200 "
            "LIMIT 1").fetchone()
        conn.close()
        status, page = get(f"{datasette}/demo/articles/{urllib.parse.quote(url, safe='')}")
        assert status == 200
        links = re.findall(r'class="govnews-replay" href="([^"]+)"', page.decode())
        if not replay_port:
            return
        replay = f"http://127.0.0.1:{replay_port}"
        assert links and links[0].startswith(f"{replay}/archive/"), links
        wait_http(f"{replay}/", timeout=120)
        assert get(links[0].replace("&amp;", "&"))[0] == 200  # the article's 存档快照 replays
        status, body = get(replay_url(replay, img_date, img_url, raw=True))  # and its image, as captured
        assert status == 200 and payload_digest(body) == img_digest
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
