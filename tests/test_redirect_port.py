"""Another port of an allowed host is another site (issue 11, item 10): a redirect there is refused
as offsite_redirect and a listing link there is not requested (offsite_link); the other server never
hears from the crawler."""

from __future__ import annotations

import json
import sqlite3

from fixtures import faults as F
from fixtures.server import FixtureServer
from fixtures.sites.mini import MiniSite
from tests.conftest import govnews


def test_redirect_and_links_to_another_port_refused(tmp_path):
    other = MiniSite(["/x/moved.html"], name="fixture-other-port")
    with FixtureServer([other]):
        site = MiniSite(["/a/ok.html", "/a/jump.html", other.url("/x/moved.html")])
        with FixtureServer([site]):
            assert site.base_url.split(":")[1] == other.base_url.split(":")[1]  # same host, another port
            F.Faults(site).set("/a/jump.html", F.redirect(other.url("/x/moved.html")))
            done = govnews("crawl", "--site", str(site.definition(tmp_path)), "--base-url", site.base_url,
                           "--db", str(tmp_path / "a.db"), "--log-level", "INFO")
    conn = sqlite3.connect(tmp_path / "a.db")
    urls = {r[0] for r in conn.execute("SELECT url FROM articles")}
    errors = json.loads(conn.execute("SELECT errors FROM crawl_runs").fetchone()[0])
    conn.close()
    assert urls == {site.url("/a/ok.html")}, done.stderr[-3000:]
    assert errors.get("offsite_redirect") == 1 and errors.get("offsite_link") == 1, errors
    assert other.requests == [], [r.path for r in other.requests]
