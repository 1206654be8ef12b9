"""`govnews demo --no-serve` (what `make demo` runs) crawls every fixture site, and can be run again."""

from __future__ import annotations

import sqlite3

from fixtures.server import all_sites
from tests.conftest import govnews


def test_demo_crawls_every_fixture_site_and_reruns_cleanly(tmp_path):
    db = tmp_path / "demo.db"
    expected = 0
    for site in all_sites():
        site.build("http://127.0.0.1:9/")
        expected += len(site.articles)
    for _ in range(2):
        done = govnews("demo", "--no-serve", "--db", str(db), check=True)
        assert "failed=0" in done.stdout
        conn = sqlite3.connect(db)
        sites = {r[0] for r in conn.execute("SELECT DISTINCT site FROM articles")}
        assert sites == {s.name for s in all_sites()}
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == expected >= 150
        conn.close()
