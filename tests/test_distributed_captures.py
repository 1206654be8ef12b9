"""Captures across machines (issue 13): each worker writes WARC files on its own disk; the archive records
where (captures.warc_dir, host:dir); `govnews warc verify --db` names each missing file once with where it
was written and how to gather it; once gathered in one directory, verify and a WACZ export pass.

Real redis-server, real worker processes, each with its own WARC directory (standing for its own machine).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

from archive.store import Archive
from tests.conftest import REPO, govnews
from tests.crawlkit import crawl, q
from tests.redis_server import redis_url  # noqa: F401 - a fixture

CZ, TRS = "fixture-changzhou", "fixture-trs"
HOST = socket.gethostname()


class Machines:
    """`govnews worker`s, each writing WARC files into its own directory."""

    def __init__(self, url: str, root: Path, n: int = 3) -> None:
        self.dirs = {f"m{i}": root / f"m{i}" / "warc" for i in range(n)}
        self.procs = [subprocess.Popen([sys.executable, "-m", "crawler.cli", "worker", "--redis", url, "--id", name,
                                        "--warc-dir", str(d)], cwd=REPO, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
                      for name, d in self.dirs.items()]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def distributed_crawl(url: str, server, name: str, db: Path, warc_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return govnews("crawl", "--site", name, "--base-url", server.sites[name].base_url, "--db", str(db), "--redis", url,
                   "--warc-dir", str(warc_dir), *extra, timeout=600)


def verify(db: Path, warc_dir: Path | None = None) -> subprocess.CompletedProcess:
    return govnews("warc", "verify", "--db", str(db), *(["--warc-dir", str(warc_dir)] if warc_dir else []))


def gather(dirs, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for d in dirs:
        for f in d.glob("*.warc.gz"):
            shutil.copy2(f, into / f.name)


def test_workers_on_separate_disks_verify_names_what_is_missing_then_gathered_it_passes(
        fixture_server, redis_url, tmp_path):  # noqa: F811
    machines = Machines(redis_url, tmp_path)
    db = tmp_path / "archive" / "a.db"
    db.parent.mkdir()
    try:
        done = distributed_crawl(redis_url, fixture_server, CZ, db, tmp_path / "archive" / "warc")
    finally:
        machines.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    # Every capture says where its file was written, and the file is there.
    recorded = q(db, "SELECT DISTINCT warc_file, warc_dir FROM captures")
    wrote = {d: sorted(f.name for f in d.glob("*.warc.gz")) for d in machines.dirs.values()}
    used = [d for d, names in wrote.items() if names]
    assert len(used) >= 2, wrote  # the work was shared: files on several "machines"
    assert {w for _, w in recorded} == {f"{HOST}:{d.resolve()}" for d in used}
    for name, where in recorded:
        assert (Path(where.split(":", 1)[1]) / name).is_file(), (name, where)
    assert sorted(n for n, _ in recorded) == sorted(n for names in wrote.values() for n in names)

    # Nothing gathered yet: each file named once, with where it was written, and how to gather them.
    gathered = tmp_path / "gathered"
    gathered.mkdir()
    check = verify(db, gathered)
    assert check.returncode == 1, check.stdout + check.stderr
    out = check.stdout
    for d in used:
        for name in wrote[d]:
            assert out.count(name) == 1, (name, out)
            assert f"missing {name} (written at {HOST}:{d.resolve()};" in out
        assert f"{d.resolve()}/ {gathered.resolve()}/" in out  # one rsync line per place written
    assert "rsync -a" in out and "shared filesystem" in out
    assert "no record at" not in out  # pointers into a missing file are that file's one line, not one each
    files = sum(len(n) for n in wrote.values())
    assert out.rstrip().splitlines()[-1] == f"{files} problems"
    # Its default WARC directory (beside the archive) does not exist: still a report, not a usage error.
    assert verify(db).returncode == 1
    # A WACZ cannot be made yet either: it says what is missing and where.
    wacz = tmp_path / "a.wacz"
    early = govnews("export", "wacz", "--db", str(db), "-o", str(wacz), "--warc-dir", str(gathered))
    assert early.returncode == 2 and f"written at {HOST}:{used[0].resolve()}" in early.stderr, early.stderr
    assert "Traceback" not in early.stderr and not wacz.exists()

    # One machine's files gathered: only the others' are named.
    gather(used[:1], gathered)
    partial = verify(db, gathered)
    assert partial.returncode == 1
    assert not any(f"missing {n} " in partial.stdout for n in wrote[used[0]])
    assert all(f"missing {n} " in partial.stdout for d in used[1:] for n in wrote[d])
    assert partial.stdout.rstrip().splitlines()[-1] == f"{files - len(wrote[used[0]])} problems"

    # All gathered (copy-then-verify): verify passes, and the WACZ export validates.
    gather(used, gathered)
    ok = verify(db, gathered)
    assert ok.returncode == 0, ok.stdout[-3000:]
    assert ok.stdout.rstrip().splitlines()[-1].startswith(f"ok: {files} WARC files, ")
    govnews("export", "wacz", "--db", str(db), "-o", str(wacz), "--warc-dir", str(gathered), check=True)
    valid = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(wacz)], capture_output=True, text=True)
    assert valid.returncode == 0, valid.stdout + valid.stderr


def test_an_archive_from_before_warc_dir_is_migrated_and_verify_says_where_is_unknown(fixture_server, tmp_path):
    db = tmp_path / "a.db"
    crawl(fixture_server, TRS, db)
    warc = tmp_path / "a-warc"
    assert {w for (w,) in q(db, "SELECT DISTINCT warc_dir FROM captures")} == {f"{HOST}:{warc.resolve()}"}
    # What an archive made before captures.warc_dir looks like; opening it adds the column back (empty).
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE captures DROP COLUMN warc_dir")
    Archive(db).close()
    assert q(db, "SELECT count(*) FROM captures WHERE warc_dir IS NULL") == q(db, "SELECT count(*) FROM captures")
    assert verify(db).returncode == 0
    moved = sorted(warc.glob("*.warc.gz"))[0]
    moved.rename(tmp_path / moved.name)
    check = verify(db)
    assert check.returncode == 1
    assert f"missing {moved.name} (written at an unrecorded place;" in check.stdout
    assert "look in each worker's --warc-dir" in check.stdout
    assert check.stdout.rstrip().splitlines()[-1] == "1 problem"


def test_verify_without_files_or_an_archive_is_a_usage_error():
    got = govnews("warc", "verify")
    assert got.returncode == 2 and "give WARC files, or --db ARCHIVE" in got.stderr
