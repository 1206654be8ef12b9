"""Compressed bodies cut short are never archived, whatever the encoding (issue 11, item 7).

A mini-site serves every article compressed — gzip in one member or two, zlib and raw deflate, br,
zstd in one frame or two —, some whole and some with the encoded stream cut (Content-Length matching
the cut, so only the stream shows it). Scrapy's HttpCompressionMiddleware would keep whatever a cut
stream yields; crawler.middlewares.compression_guard refuses it as truncated_body, and the next run
fetches the page again."""

from __future__ import annotations

import json
import sqlite3

from fixtures import faults as F
from fixtures.server import FixtureServer
from fixtures.sites.mini import MiniSite
from tests.conftest import govnews

WHOLE = {"gzip_two_members": F.compressed("gzip", members=2), "raw_deflate": F.compressed("raw-deflate"),
         "br": F.compressed("br"), "zstd_two_frames": F.compressed("zstd", members=2)}
CUT = {"gzip": F.compressed("gzip", 0.9), "gzip_second_member": F.compressed("gzip", 0.9, members=2),
       "deflate": F.compressed("deflate", 0.9), "raw_deflate": F.compressed("raw-deflate", 0.9),
       "br_85": F.compressed("br", 0.85), "zstd": F.compressed("zstd", 0.9),
       "zstd_second_frame": F.compressed("zstd", 0.9, members=2)}


def _crawl(toml, site, db):
    return govnews("crawl", "--site", str(toml), "--base-url", site.base_url, "--db", str(db), "--full")


def test_cut_compressed_bodies_refused_counted_and_fetched_next_run(tmp_path):
    names = [f"whole_{n}" for n in WHOLE] + [f"cut_{n}" for n in CUT]
    site = MiniSite([f"/a/{n}.html" for n in names])
    db = tmp_path / "a.db"
    with FixtureServer([site]):
        faults = F.Faults(site)
        for n, fault in [*((f"whole_{k}", v) for k, v in WHOLE.items()), *((f"cut_{k}", v) for k, v in CUT.items())]:
            faults.set(f"/a/{n}.html", fault)
        toml = site.definition(tmp_path)
        done1 = _crawl(toml, site, db)
        conn = sqlite3.connect(db)
        rows = dict(conn.execute("SELECT url, body FROM articles"))
        run1 = conn.execute("SELECT status, errors FROM crawl_runs ORDER BY id DESC").fetchone()
        failures = dict(conn.execute("SELECT url, kind FROM fetch_failures"))
        assert done1.returncode == 1 and run1[0] == "partial", done1.stderr[-3000:]
        assert json.loads(run1[1]).get("truncated_body") == len(CUT), run1[1]
        for n in WHOLE:  # whole streams of every encoding are archived intact
            url, art = site.url(f"/a/whole_{n}.html"), site.served[f"/a/whole_{n}.html"]
            assert rows[url].splitlines() == art.paragraphs, n
        for n in CUT:
            url = site.url(f"/a/cut_{n}.html")
            assert url not in rows, n
            assert failures[url] == "truncated_body", n
            assert f"truncated_body: {url}" in done1.stderr, n
        faults.clear()  # the server mends its ways: the next run fetches the refused pages again
        done2 = _crawl(toml, site, db)
        rows = dict(conn.execute("SELECT url, body FROM articles"))
        assert done2.returncode == 0, done2.stderr[-3000:]
        assert set(rows) == set(site.expected())
        for path, art in site.served.items():
            assert rows[site.url(path)].splitlines() == art.paragraphs, path
        conn.close()


def test_compression_bombs_refused_for_every_encoding_in_steps():
    import gzip
    import zlib

    import brotli
    from backports import zstd

    from crawler.middlewares.compression_guard import CHUNK, TooLarge, check_body, encodings_to_check

    zeros = b"\0" * (8 << 20)
    for enc, pack in ((b"gzip", gzip.compress), (b"deflate", zlib.compress), (b"br", brotli.compress),
                      (b"zstd", zstd.compress)):
        assert check_body(pack(zeros), [enc], 0) == len(zeros), enc
        try:
            check_body(pack(zeros), [enc], 1 << 20)
        except TooLarge:
            pass
        else:
            raise AssertionError(f"{enc!r} bomb not refused")
    assert CHUNK <= 256 * 1024
    # A chain is undone as Scrapy undoes it: last applied first, stopping at an encoding it does not know.
    assert encodings_to_check([b"gzip, br"]) == [b"br", b"gzip"]
    assert encodings_to_check([b"gzip", b"identity"]) == []
    assert check_body(brotli.compress(gzip.compress(b"<html>x</html>")), [b"br", b"gzip"], 1 << 20) == 14
