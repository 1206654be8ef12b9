"""Shared test fixtures: real fixture servers on 127.0.0.1, the govnews command, Datasette."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fixtures.server import FixtureServer, all_sites

REPO = Path(__file__).resolve().parents[1]


def govnews(*args: str, timeout: float = 300, check: bool = False) -> subprocess.CompletedProcess:
    """Run the govnews command in a subprocess, as cron or a user would."""
    done = subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)
    if check and done.returncode != 0:
        raise AssertionError(f"govnews {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture
def fixture_server():
    """Every authored fixture site served on its own loopback port, fresh for each test."""
    with FixtureServer(all_sites()) as server:
        yield server


@pytest.fixture(scope="session")
def fixture_archive(tmp_path_factory) -> Path:
    """Every fixture site crawled once into one archive; for tests that only read it (copy it to write)."""
    db = tmp_path_factory.mktemp("fixture-archive") / "archive.db"
    with FixtureServer(all_sites()) as server:
        for name, url in server.base_urls().items():
            govnews("crawl", "--site", name, "--base-url", url, "--db", str(db), "--log-level", "WARNING", check=True)
    return db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 120, proc: subprocess.Popen | None = None) -> None:
    """Until `url` answers (a deadline, not a delay: a loaded machine starts a server slowly); at once
    an error with its stderr if the server process `proc` has exited instead."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=10).read()
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise AssertionError(f"the server exited ({proc.returncode}): {err[-3000:]}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def datasette_server():
    """Start `govnews serve` on a free port for a given archive; stopped after the test."""
    procs = []

    def start(db: Path, *extra: str) -> str:
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "serve", "--db", str(db), "--port", str(port), *extra],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/-/versions.json", proc=proc)
        return base

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=10)

