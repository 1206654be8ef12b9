"""Redis dies mid-run (issue 13, "what happens when each part dies"): the coordinator says so in one line,
marks the run failed and exits 1, the workers say so and exit 2, nothing committed is lost, and once
Redis is back the next run completes the archive to equal a single-process crawl."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import REPO
from tests.crawlkit import crawl, q
from tests.redis_server import free_port
from tests.test_cron_run import _snapshot, wait_for
from tests.test_distributed_captures import CZ, Machines, distributed_crawl, verify


def start_redis(port: int, tmp_path) -> subprocess.Popen:
    proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    import redis

    wait_for(lambda: _pings(redis.Redis(port=port)), timeout=30, what="redis-server to start")
    return proc


def _pings(client) -> bool:
    import redis

    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def some_articles(db, n: int) -> bool:
    try:
        return q(db, "SELECT count(*) FROM articles")[0][0] >= n
    except sqlite3.OperationalError:
        return False


@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
def test_redis_killed_mid_run_then_the_next_run_completes_the_archive(fixture_server, tmp_path):
    site = fixture_server.sites[CZ]
    single = tmp_path / "single.db"
    crawl(fixture_server, CZ, single)
    release = threading.Event()
    seen = [0]

    def slow_after_some(req) -> None:  # keep the run going long enough to lose Redis in its middle
        if req.path.startswith("/ns_news/"):
            seen[0] += 1
            if seen[0] > 30:
                release.wait(60)

    site.handlers.insert(0, slow_after_some)
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = start_redis(port, tmp_path)
    machines = Machines(url, tmp_path, n=2)
    db, warc = tmp_path / "a.db", tmp_path / "warc"
    try:
        writer = subprocess.Popen([sys.executable, "-m", "crawler.cli", "crawl", "--site", CZ, "--base-url",
                                   site.base_url, "--db", str(db), "--redis", url, "--warc-dir", str(warc)],
                                  cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: some_articles(db, 10), timeout=120, what="the writer to store some articles")
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        release.set()
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 1, err[-3000:]
        assert f"lost the Redis server at {url}" in err and "Traceback" not in err, err[-3000:]
        assert f"{CZ}: failed run=1 " in out, out
        assert q(db, "SELECT status FROM crawl_runs") == [("failed",)]
        for proc in machines.procs:  # the workers say so and stop (systemd starts them again)
            assert proc.wait(timeout=60) == 2
        assert q(db, "PRAGMA integrity_check") == [("ok",)]
    finally:
        release.set()
        machines.stop()
        if server.poll() is None:
            server.kill()
    server = start_redis(port, tmp_path)
    machines = Machines(url, tmp_path, n=2)
    try:
        time.sleep(0.5)
        again = distributed_crawl(url, fixture_server, CZ, db, warc)
        assert again.returncode == 0, again.stderr[-3000:]
    finally:
        machines.stop()
        server.terminate()
        server.wait(timeout=30)
    assert _snapshot(db) == _snapshot(single)
    gathered = tmp_path / "gathered"
    gathered.mkdir()
    for d in machines.dirs.values():
        for f in d.glob("*.warc.gz"):
            shutil.copy2(f, gathered / f.name)
    check = verify(db, gathered)
    assert check.returncode == 0, check.stdout[-3000:]
