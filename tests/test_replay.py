"""Archived copies (issue 18, replay part): real pywb over the archive's WARC files, and the article
page's links to each version's replay and to each attachment's archived bytes."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from archive.replay import ReplayUnavailable, replay_url, timestamp, wayback_executable
from archive.warc import payload_digest
from tests.conftest import REPO, free_port, wait_http
from tests.crawlkit import crawl, q

CZ = "fixture-changzhou"


def get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture
def pywb():
    try:
        wayback_executable()
    except ReplayUnavailable as e:
        pytest.skip(str(e))


def test_timestamps_and_urls():
    assert timestamp("2024-01-02T03:04:05Z") == "20240102030405"
    assert replay_url("http://h:8080/", "2024-01-02T03:04:05Z", "http://a.test/x?y=1") == \
        "http://h:8080/archive/20240102030405/http://a.test/x?y=1"
    assert replay_url("http://h:8080", "2024-01-02T03:04:05Z", "http://a.test/文.pdf", raw=True) == \
        "http://h:8080/archive/20240102030405id_/http://a.test/%E6%96%87.pdf"


def test_pywb_replays_articles_and_attachments_and_the_article_page_links_them(fixture_server, tmp_path, pywb):
    site = fixture_server.sites[CZ]
    db = tmp_path / "a.db"
    crawl(fixture_server, CZ, db)
    url, title, warc_date = q(db, "SELECT a.url, a.title, c.warc_date FROM articles a JOIN captures c "
                                  "ON c.warc_file = a.warc_file AND c.warc_offset = a.warc_offset "
                                  "WHERE a.url IN (SELECT article_url FROM attachments WHERE status = 'ok') LIMIT 1")[0]
    att_url, att_sha = q(db, "SELECT url, sha256 FROM attachments WHERE article_url = ? AND status = 'ok' LIMIT 1",
                         [url])[0]
    served = site.pages[att_url.removeprefix(site.base_url.rstrip("/"))].body
    dport, rport = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "serve", "--db", str(db), "--port", str(dport),
                             "--replay-port", str(rport)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        replay, datasette = f"http://127.0.0.1:{rport}", f"http://127.0.0.1:{dport}"
        wait_http(datasette + "/-/versions.json", timeout=60)
        wait_http(replay + "/", timeout=60)
        # pywb replays the article as captured (mp_: the page itself, links rewritten into the archive)
        status, _, body = get(replay_url(replay, warc_date, url).replace(f"{timestamp(warc_date)}/",
                                                                          f"{timestamp(warc_date)}mp_/"))
        assert status == 200 and title in body.decode("utf-8", "replace")
        # and the attachment's bytes exactly as captured
        status, _, body = get(replay_url(replay, warc_date, att_url, raw=True))
        assert status == 200 and body == served
        # the article page links the version's replay and the archived file
        page = get(f"{datasette}/a/articles/{urllib.parse.quote(url, safe='')}")[2].decode()
        links = re.findall(r'class="govnews-replay" href="([^"]+)"', page)
        assert links and links[0].startswith(replay + "/archive/")
        assert get(links[0].replace("&amp;", "&"))[0] == 200
        files = re.findall(r'class="govnews-archived-file" href="([^"]+)"', page)
        assert files
        status, headers, body = get(datasette + files[0].replace("&amp;", "&"))
        assert status == 200 and body == served
        assert headers["Content-Disposition"].startswith("attachment;") and headers["X-Content-Type-Options"] == "nosniff"
        # an in-body image links its archived bytes too, with the original URL beside it
        img_article, img_url = q(db, "SELECT a.url, c.url FROM articles a JOIN json_each(a.images) j JOIN captures c "
                                     "ON c.url = json_extract(j.value, '$.url') AND c.kind = 'image' LIMIT 1")[0]
        page = get(f"{datasette}/a/articles/{urllib.parse.quote(img_article, safe='')}")[2].decode()
        pictures = re.findall(r'class="govnews-archived-image" href="([^"]+)"', page)
        assert pictures and f"<code>{img_url}</code>" in page
        status, headers, body = get(datasette + pictures[0].replace("&amp;", "&"))
        assert status == 200 and body == site.pages[img_url.removeprefix(site.base_url.rstrip("/"))].body
        ctype = next(v for k, v in headers.items() if k.lower() == "content-type")
        assert ctype == "image/jpeg" and headers["Content-Disposition"].startswith("attachment;")
        # only what the archive indexes is served
        assert get(f"{datasette}/-/govnews/payload/a?file=../a.db&offset=0")[0] == 404
        assert get(f"{datasette}/-/govnews/payload/a?file=x.warc.gz&offset=zero")[0] == 404
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert att_sha


def test_pywb_replays_every_article_and_every_image_as_captured(fixture_server, tmp_path, pywb):
    site = fixture_server.sites[CZ]
    db = tmp_path / "a.db"
    crawl(fixture_server, CZ, db)
    articles = q(db, "SELECT a.url, a.title, c.warc_date FROM articles a JOIN captures c "
                     "ON c.warc_file = a.warc_file AND c.warc_offset = a.warc_offset")
    images = q(db, "SELECT url, payload_digest, warc_date FROM captures WHERE kind = 'image' AND status = 200")
    resources = q(db, "SELECT url, payload_digest, warc_date FROM captures WHERE kind = 'resource' AND status = 200")
    assert len(articles) == len(site.articles) and len(images) > 30
    assert any(u.endswith("/images/bg.png") for u, _, _ in resources)  # named only by the stylesheet
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "replay", "--db", str(db), "--port", str(port)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        replay = f"http://127.0.0.1:{port}"
        wait_http(replay + "/", timeout=60)
        for url, title, warc_date in articles:
            ts = timestamp(warc_date)
            status, _, body = get(replay_url(replay, warc_date, url).replace(f"{ts}/", f"{ts}mp_/"))
            assert status == 200 and title in body.decode("utf-8", "replace"), url
        for url, digest, warc_date in images + resources:  # the bytes as captured: digest equal
            status, _, body = get(replay_url(replay, warc_date, url, raw=True))
            assert status == 200 and payload_digest(body) == digest, url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_replay_without_pywb_says_so(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from crawler.cli import cli

    db = tmp_path / "a.db"
    from archive.store import Archive

    Archive(db).close()
    monkeypatch.setenv("GOVNEWS_WAYBACK", str(tmp_path / "no-such-wayback"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("archive.replay.REPO", tmp_path)
    got = CliRunner().invoke(cli, ["replay", "--db", str(db)])
    assert got.exit_code == 2 and "pywb is not installed" in got.output
