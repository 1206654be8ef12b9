"""Health checks after each run (archive/health.py): real crawls of a fixture site over HTTP that changes
between runs (fixtures/sites/health.py), each change raising exactly its flag — in crawl_health, the run's
summary line and log, exit code 3, --notify and --webhook — and a run without changes raising none."""

from __future__ import annotations

import json
import sqlite3
import threading
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from archive.health import record_discovery
from fixtures.server import FixtureServer
from fixtures.sites.health import HealthSite
from tests.conftest import govnews
from tests.crawlkit import q
from tests.redis_server import redis_url  # noqa: F401 - a fixture

NO_BROWSER = ("-s", "GOVNEWS_BROWSER=False")  # a page that needs one is a needs_browser error, deterministically
EXPECTED = {("empty_section", "清空栏目"), ("articles_missing", "下线栏目"), ("fill_drop", "改版栏目"),
            ("needs_browser", "脚本栏目")}


def crawl(toml: Path, db: Path, *args: str):
    return govnews("crawl", "--site", str(toml), "--db", str(db), *NO_BROWSER, *args)


@contextmanager
def crawled_then_changed(tmp_path: Path):
    """The health fixture served, crawled once, then changed: (definition, archive) for the next crawls."""
    with FixtureServer([HealthSite()]) as server:
        site = server.sites["fixture-health"]
        toml, db = site.definition(tmp_path), tmp_path / "a.db"
        assert crawl(toml, db).returncode == 0
        site.change()
        yield toml, db


def flags(db: Path, run_id: int | None = None) -> list[tuple]:
    where, params = ("WHERE run_id = ?", [run_id]) if run_id is not None else ("", [])
    return q(db, f"SELECT flag, section, value, threshold, detail, site FROM crawl_health {where} ORDER BY id", params)


def last_run(db: Path) -> int:
    return q(db, "SELECT max(id) FROM crawl_runs")[0][0]


class Hook(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook():
    Hook.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", Hook.bodies
    server.shutdown()
    server.server_close()


def test_each_change_raises_exactly_its_flag(tmp_path, webhook):
    hook_url, received = webhook
    with FixtureServer([HealthSite()]) as server:
        site = server.sites["fixture-health"]
        toml, db = site.definition(tmp_path), tmp_path / "a.db"
        first = crawl(toml, db)
        assert first.returncode == 0, first.stderr
        # A second run with nothing changed (every article re-requested) raises no flag.
        again = crawl(toml, db, "--refresh")
        assert again.returncode == 0 and "health=" not in again.stdout, again.stdout + again.stderr
        assert flags(db) == []

        site.change()
        notified = tmp_path / "notified.json"
        done = crawl(toml, db, "--refresh", "--notify", f"cat > {notified}", "--webhook", hook_url)
        run = last_run(db)
        assert done.returncode == 3, done.stdout + done.stderr
        got = flags(db, run)
        assert {(f, s) for f, s, *_ in got} == EXPECTED
        by = {(f, s, d.split(":")[0] if f == "fill_drop" else ""): (v, t, d) for f, s, v, t, d, _ in got}
        assert len(got) == len(by) == 6  # fill_drop once each for date, source and body length
        assert by["articles_missing", "下线栏目", ""][:2] == (0.4, 0.3)  # 4 of 10; 少量下线 lost 2 of 10: no flag
        assert by["fill_drop", "改版栏目", "date"][:2] == (0.0, 0.7)  # 100% of the pages stated a date
        assert by["fill_drop", "改版栏目", "source"][:2] == (0.0, 0.2)  # half had a 来源
        body_now, body_floor, _ = by["fill_drop", "改版栏目", "body length"]
        assert body_now < body_floor
        assert by["needs_browser", "脚本栏目", ""][0] == 1
        assert "listed no articles (run 2 listed 10)" in by["empty_section", "清空栏目", ""][2]
        # The summary line, the log, --notify's stdin and the webhook's body carry the same flags.
        line = done.stdout.splitlines()[0]
        assert f"partial run={run} " in line and " health=" in line
        assert sorted(line.split(" health=")[1].split()[0].split(",")) == sorted(f"{f}:{s}" for f, s, *_ in got)
        log = Path(q(db, "SELECT log_file FROM crawl_runs WHERE id = ?", [run])[0][0]).read_text(encoding="utf-8")
        assert log.count("health: ") == 6 and "health: articles_missing in fixture-health / 下线栏目" in log
        sent = json.loads(notified.read_text(encoding="utf-8"))
        assert received and json.loads(received[0]) == sent
        assert {(f["flag"], f["section"], f["run_id"]) for f in sent["flags"]} == {(f, s, run) for f, s in EXPECTED}
        assert sent["runs"] == [{"site": "fixture-health", "run_id": run, "status": "partial"}]

        # Nothing changed since: no flag again (the take-down becomes `gone`, the emptied section stays
        # empty, the new template is now the history); the errors alone make it partial.
        after = crawl(toml, db, "--refresh")
        assert after.returncode == 1 and "health=" not in after.stdout, after.stdout + after.stderr
        assert flags(db, last_run(db)) == []
    rows = q(db, "SELECT run_id, site, section, flag, value, threshold, detail, at FROM crawl_health")
    assert len(rows) == 6 and all(r[0] == run and r[1] == "fixture-health" and r[7] for r in rows)


def test_many_sites_exit_with_the_worst_and_only_the_changed_site_is_flagged(tmp_path):
    changed, steady = HealthSite(), HealthSite()
    steady.name = "fixture-health-b"
    with FixtureServer([changed, steady]) as server:
        tomls = [str(s.definition(tmp_path)) for s in server.sites.values()]
        db = tmp_path / "m.db"
        sites = [a for t in tomls for a in ("--site", t)]
        assert govnews("crawl", *sites, "--db", str(db), *NO_BROWSER).returncode == 0
        changed.change()
        done = govnews("crawl", *sites, "--db", str(db), "--refresh", *NO_BROWSER)
    assert done.returncode == 3, done.stdout + done.stderr
    lines = {ln.split(":")[0]: ln for ln in done.stdout.splitlines()}
    assert " health=" in lines["fixture-health"] and " health=" not in lines["fixture-health-b"]
    assert {(f, s) for f, s, *_, site in flags(db) if site == "fixture-health"} == EXPECTED
    assert {site for *_, site in flags(db)} == {"fixture-health"}


def test_a_distributed_run_gets_the_checks(tmp_path, redis_url):  # noqa: F811
    from tests.test_distributed import Workers

    warc = tmp_path / "warc"
    workers = Workers(redis_url, warc, n=1)
    try:
        with FixtureServer([HealthSite()]) as server:
            site = server.sites["fixture-health"]
            toml, db = site.definition(tmp_path), tmp_path / "d.db"
            args = ("--redis", redis_url, "--warc-dir", str(warc))
            assert crawl(toml, db, *args).returncode == 0
            site.change()
            done = crawl(toml, db, "--refresh", *args)
    finally:
        workers.stop()
    assert done.returncode == 3, done.stdout + done.stderr
    assert {(f, s) for f, s, *_ in flags(db, last_run(db))} == EXPECTED


def test_discovery_changes_are_flags_too(tmp_path, datasette_server):
    with FixtureServer([HealthSite()]) as server:
        toml, db = server.sites["fixture-health"].definition(tmp_path), tmp_path / "a.db"
        assert crawl(toml, db).returncode == 0
    got = record_discovery(db, "fixture-health", added=[{"name": "新栏目", "url": "/xlm/"}],
                           vanished=[{"name": "清空栏目", "url": "/qklm/"}],
                           renamed=[{"from": "下线栏目", "to": "公告公示", "url": "/xxlm/"}])
    assert [(f["flag"], f["section"]) for f in got] == [("section_added", "新栏目"), ("section_vanished", "清空栏目"),
                                                  ("section_renamed", "下线栏目")]
    assert [(f, s) for f, s, *_ in flags(db, last_run(db))] == [(f["flag"], f["section"]) for f in got]
    base = datasette_server(db)  # the Datasette page of the flags, newest first
    with urllib.request.urlopen(f"{base}/a/health.json?_shape=objects&site=fixture-health") as resp:
        rows = json.load(resp)["rows"]
    assert [(r["flag"], r["section"]) for r in rows] == [(f["flag"], f["section"]) for f in reversed(got)]


def test_health_thresholds_are_settings(tmp_path):
    """The same take-down under a higher threshold, and with the checks off: no flag."""
    with crawled_then_changed(tmp_path) as (toml, db):
        done = crawl(toml, db, "--refresh", "-s", "GOVNEWS_HEALTH_MISSING_SHARE=0.5", "-s", "GOVNEWS_HEALTH_MIN_FILL=11")
        assert done.returncode == 3
        assert {(f, s) for f, s, *_ in flags(db, last_run(db))} == EXPECTED - {("articles_missing", "下线栏目"),
                                                                             ("fill_drop", "改版栏目")}
        off = crawl(toml, db, "--refresh", "-s", "GOVNEWS_HEALTH=False")
        assert off.returncode == 1 and flags(db, last_run(db)) == []


def test_notify_and_webhook_failures_are_one_line_and_keep_the_exit_code(tmp_path):
    with crawled_then_changed(tmp_path) as (toml, db):
        done = crawl(toml, db, "--refresh", "--notify", "exit 7", "--webhook", "http://127.0.0.1:1/hook")
    assert done.returncode == 3
    err = [ln for ln in done.stderr.splitlines() if ln.startswith("govnews crawl:")]
    assert any("--notify command exited 7" in ln for ln in err) and any("--webhook http://127.0.0.1:1/hook" in ln for ln in err)
    assert "Traceback" not in done.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM crawl_health").fetchone()[0] == 6


def test_a_webhook_that_is_not_http_is_a_usage_error(tmp_path):
    done = govnews("crawl", "--site", "fixture-edits", "--base-url", "http://127.0.0.1:9/", "--db", str(tmp_path / "x.db"),
                   "--webhook", "ftp://example.org/hook")
    assert done.returncode == 2 and "--webhook takes an http(s) URL" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.db").exists()
