"""Raw captures over real HTTP: every response in WARC/1.1 as received, verified, repaired, packaged as WACZ."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sqlite3
import subprocess
import sys
import zipfile

from warcio.archiveiterator import ArchiveIterator

from archive.warc import read_payload, read_record, scan_warc, warc_files
from fixtures.server import Reply
from fixtures.sites.text import FAKE_PDF
from tests.conftest import REPO, govnews
from tests.crawlkit import changzhou_url, crawl, q

CZ, TRS = "fixture-changzhou", "fixture-trs"


def records(paths):
    out = []
    for p in paths:
        with open(p, "rb") as fh:
            it = ArchiveIterator(fh)
            for rec in it:
                payload = rec.content_stream().read()
                out.append((p.name, it.get_record_offset(), rec, payload, None))
    return out


def raw_payload(path, offset) -> bytes:
    """The stored HTTP payload of the record at offset, exactly as written (no content decoding)."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        rec = next(iter(ArchiveIterator(fh)))
        return rec.raw_stream.read()


def warcio_check(paths) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "warcio.cli", "check", *map(str, paths)], capture_output=True, text=True)


def test_every_response_is_in_warc_as_received(fixture_server, tmp_path):
    site = fixture_server.sites[CZ]
    # A section URL with a query string (the request target must keep it), from a site definition of our own.
    toml = tmp_path / "cron-cz.toml"
    toml.write_text('name = "cron-cz"\nfixture = true\n[[sections]]\nname = "常州新闻"\nurl = "/ns_class/zxzx?from=cron"\n',
                    encoding="utf-8")
    arts = site.sections["zxzx"]
    gz, moved, missing = arts[0], arts[1], arts[2]
    page = site.pages[f"/ns_news/{gz.id}"]
    # Served gzip-encoded with a header repeated: the WARC must keep the gzip bytes and both values.
    site.pages[f"/ns_news/{gz.id}"] = Reply(gzip.compress(page.body), 200, [
        *page.headers, ("Content-Encoding", "gzip"), ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/")])
    site.pages[f"/ns_news/{moved.id}"] = Reply(b"", 301, [("Location", f"/ns_news/{moved.id}?moved=1")])
    site.pages[f"/ns_news/{moved.id}?moved=1"] = page.__class__(site.pages[f"/ns_news/{arts[3].id}"].body, 200,
                                                                 [("Content-Type", "text/html; charset=utf-8")])
    del site.pages[f"/ns_news/{missing.id}"]
    db = tmp_path / "a.db"
    done = govnews("crawl", "--site", str(toml), "--base-url", site.base_url, "--db", str(db),
                   "--warc-max-size", "40K", "--operator", "Test Archivist <archivist@example.org>")
    assert done.returncode == 1, done.stderr  # the 404 makes it partial
    files = warc_files(tmp_path / "a-warc")
    assert len(files) >= 3, files  # rotated at 40 KB
    assert warcio_check(files).returncode == 0
    assert govnews("warc", "verify", "--db", str(db)).returncode == 0

    recs = records(files)
    run_id = q(db, "SELECT max(id) FROM crawl_runs")[0][0]
    # Each file opens with a warcinfo record naming the software, operator, robots policy and run.
    for f in files:
        _, _, first, info, _ = next(r for r in recs if r[0] == f.name)
        assert first.rec_type == "warcinfo"
        info = info.decode()
        assert "software: govnews-archive/" in info and "warcio/" in info
        assert "operator: Test Archivist <archivist@example.org>" in info
        assert "robots: obey" in info and f"govnews-crawl-run: {run_id}" in info
    # Every request the fixture server answered is a response record paired with its request record.
    responses = [r for r in recs if r[2].rec_type in ("response", "revisit")]
    requests = {r[2].rec_headers.get_header("WARC-Concurrent-To"): r for r in recs if r[2].rec_type == "request"}
    assert len(responses) == len(site.requests) == q(db, "SELECT count(*) FROM captures")[0][0]
    for _, _, rec, _, _ in responses:
        assert rec.rec_headers.get_header("WARC-Record-ID") in requests
    targets = {r[2].http_headers.protocol + " " + r[2].http_headers.statusline for r in requests.values()}
    assert "GET /ns_class/zxzx?from=cron HTTP/1.1" in targets
    assert "GET /robots.txt HTTP/1.1" in targets
    by_uri = {}
    for name, offset, rec, payload, _ in responses:
        by_uri.setdefault(rec.rec_headers.get_header("WARC-Target-URI"), []).append((name, offset, rec, payload))

    # The gzip page: stored still gzip-encoded, both Set-Cookie values kept; extracted fine all the same.
    url = changzhou_url(site, gz.id)
    name, offset, rec, _ = by_uri[url][0]
    assert [v for k, v in rec.http_headers.headers if k.lower() == "set-cookie"] == ["a=1; Path=/", "b=2; Path=/"]
    assert rec.http_headers.get_header("Content-Encoding") == "gzip"
    assert raw_payload(tmp_path / "a-warc" / name, offset)[:2] == b"\x1f\x8b"
    assert q(db, "SELECT title FROM articles WHERE url = ?", [url]) == [(gz.title,)]
    # True status lines, each redirect hop captured.
    assert by_uri[changzhou_url(site, missing.id)][0][2].http_headers.statusline == "404 Not Found"
    hop = by_uri[changzhou_url(site, moved.id)][0][2]
    assert hop.http_headers.statusline == "301 Moved Permanently"
    assert hop.http_headers.get_header("Location").endswith("?moved=1")
    assert changzhou_url(site, moved.id) + "?moved=1" in by_uri

    # Article rows and versions point at their capture.
    for table in ("articles", "article_versions"):
        for url, f, off, _length, digest in q(db, f"SELECT {'url' if table == 'articles' else 'article_url'}, warc_file, "
                                                 f"warc_offset, warc_length, payload_digest FROM {table}"):
            rec = read_record(tmp_path / "a-warc" / f, off)
            assert rec.rec_headers.get_header("WARC-Payload-Digest") == digest
            assert rec.rec_headers.get_header("WARC-Target-URI").split("?")[0] == url.split("?")[0]
    # Attachments: downloaded once each, with mime, size, sha256 and the capture they came from.
    atts = q(db, "SELECT url, mime, size, sha256, warc_file, warc_offset, status FROM attachments")
    assert atts and all(a[6] == "ok" for a in atts)
    for url, mime, size, sha, f, off, _ in atts:
        payload = read_payload(db, tmp_path / "a-warc", f, off)  # identical files are revisit records
        assert hashlib.sha256(payload).hexdigest() == sha and len(payload) == size
        if url.endswith(".pdf"):
            assert mime == "application/pdf" and payload == FAKE_PDF

    # A second run's identical listing payloads are revisit records pointing back at the first capture.
    site.requests.clear()
    govnews("crawl", "--site", str(toml), "--base-url", site.base_url, "--db", str(db))
    files2 = [f for f in warc_files(tmp_path / "a-warc") if f not in files]
    revisits = [r[2] for r in records(files2) if r[2].rec_type == "revisit"]
    assert revisits
    for rv in revisits:
        assert rv.rec_headers.get_header("WARC-Profile").endswith("/revisit/identical-payload-digest")
        orig = q(db, "SELECT url, warc_date FROM captures WHERE record_id = ?", [rv.rec_headers.get_header("WARC-Refers-To")])
        assert orig == [(rv.rec_headers.get_header("WARC-Refers-To-Target-URI"), rv.rec_headers.get_header("WARC-Refers-To-Date"))]
    assert warcio_check(warc_files(tmp_path / "a-warc")).returncode == 0


def test_torn_last_record_is_skipped_then_set_aside(fixture_server, tmp_path):
    db = tmp_path / "a.db"
    crawl(fixture_server, TRS, db)
    last = warc_files(tmp_path / "a-warc")[-1]
    good = scan_warc(last)
    cut = good.records[-1].offset + good.records[-1].length // 2
    with open(last, "r+b") as fh:  # what a kill -9 in the middle of a write leaves
        fh.truncate(cut)
    with sqlite3.connect(db) as conn:  # ... and the run row it leaves behind
        conn.execute("UPDATE crawl_runs SET status = 'running'")

    report = scan_warc(last)
    assert report.torn_at == good.records[-1].offset and report.ok
    assert len(report.records) == len(good.records) - 1
    out = govnews("warc", "verify", "--db", str(db))
    assert out.returncode == 0 and "torn last record" in out.stdout, out.stdout
    # WACZ from the torn state leaves the torn bytes out and still validates.
    wacz = tmp_path / "torn.wacz"
    govnews("export", "wacz", "--db", str(db), "-o", str(wacz), check=True)
    assert subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(wacz)], capture_output=True).returncode == 0

    # The next run marks the run interrupted and moves the torn tail aside (kept, never deleted).
    run = crawl(fixture_server, TRS, db)
    assert "interrupted" in run.stderr and "torn last record" in run.stderr
    assert q(db, "SELECT status FROM crawl_runs ORDER BY id") == [("interrupted",), ("ok",)]
    side = list((tmp_path / "a-warc").glob(f"{last.name}.torn-*"))
    assert len(side) == 1 and side[0].stat().st_size == report.torn_bytes
    assert last.stat().st_size == report.torn_at
    assert warcio_check(warc_files(tmp_path / "a-warc")).returncode == 0
    assert scan_warc(last).torn_at is None
    assert govnews("warc", "verify", "--db", str(db)).returncode == 0


def test_wacz_export_validates(fixture_server, tmp_path):
    db = tmp_path / "a.db"
    for name in (CZ, TRS):
        crawl(fixture_server, name, db)
    crawl(fixture_server, CZ, db, "--refresh")  # run 3: 304s and revisits only
    wacz = tmp_path / "all.wacz"
    out = govnews("export", "wacz", "--db", str(db), "-o", str(wacz), check=True)
    assert "pages" in out.stdout
    v = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(wacz)], capture_output=True, text=True, cwd=REPO)
    assert v.returncode == 0 and "Validation succeeded" in v.stdout, v.stdout

    z = zipfile.ZipFile(wacz)
    names = set(z.namelist())
    assert {"datapackage.json", "datapackage-digest.json", "indexes/index.cdx", "pages/pages.jsonl"} <= names
    package = json.loads(z.read("datapackage.json"))
    assert {r["path"] for r in package["resources"]} == names - {"datapackage.json", "datapackage-digest.json"}
    for r in package["resources"]:
        assert r["hash"] == "sha256:" + hashlib.sha256(z.read(r["path"])).hexdigest()
    for info in z.infolist():
        if info.filename.startswith("archive/"):
            assert info.compress_type == zipfile.ZIP_STORED
    pages = [json.loads(line) for line in z.read("pages/pages.jsonl").decode().splitlines()]
    assert pages[0]["format"] == "json-pages-1.0"
    urls = {r[0] for r in q(db, "SELECT url FROM articles")}
    assert {p["url"] for p in pages[1:]} == urls
    # The CDXJ index finds each article's response in the packaged WARC, at the right offset.
    cdx = {}
    for line in z.read("indexes/index.cdx").decode().splitlines():
        _, ts, block = line.split(" ", 2)
        entry = json.loads(block)
        if entry.get("status") == "200" and entry["mime"] != "warc/revisit":
            cdx.setdefault(entry["url"], entry)
    assert urls <= set(cdx)
    for url in list(urls)[:20]:
        e = cdx[url]
        data = z.read(f"archive/{e['filename']}")
        rec = next(iter(ArchiveIterator(io.BytesIO(data[int(e["offset"]):int(e["offset"]) + int(e["length"])]))))
        assert rec.rec_headers.get_header("WARC-Target-URI") == url

    # One run alone (revisits only) carries the files its revisits refer to, and validates too.
    one = tmp_path / "run3.wacz"
    govnews("export", "wacz", "--db", str(db), "-o", str(one), "--run", "3", check=True)
    v = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(one)], capture_output=True, text=True)
    assert v.returncode == 0, v.stdout
    inside = {n for n in zipfile.ZipFile(one).namelist() if n.startswith("archive/")}
    assert any("-r000003-" in n for n in inside) and any("-r000001-" in n for n in inside)


def test_attachments_over_the_size_cap_are_skipped(fixture_server, tmp_path):
    db = tmp_path / "a.db"
    done = crawl(fixture_server, TRS, db, "--attachment-max-size", "16")
    assert done.returncode == 0
    rows = q(db, "SELECT status, sha256, warc_file FROM attachments")
    assert rows and all(r == ("too_large", None, None) for r in rows)
    assert q(db, "SELECT count(*) FROM captures WHERE kind = 'attachment'") == [(0,)]
