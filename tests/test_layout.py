"""The layout the architecture doc promises (docs/architecture.md), checked.

- archive/ imports nothing from crawler/ or fixtures/ (it is a library of its own);
- `scrapy crawl news -a site=NAME -s GOVNEWS_DB=...` crawls, as scrapy.cfg promises;
- during a crawl only the archive writer (crawler/writer.py) opens a connection to the archive.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import textwrap

from tests.conftest import REPO
from tests.crawlkit import q


def _imports(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_archive_imports_nothing_from_the_crawler_or_the_fixtures():
    files = sorted((REPO / "archive").rglob("*.py"))
    assert len(files) > 10
    offending = {str(p.relative_to(REPO)): sorted(n for n in _imports(p) if n.split(".")[0] in ("crawler", "fixtures"))
                 for p in files}
    assert {k: v for k, v in offending.items() if v} == {}


def test_scrapy_crawl_as_scrapy_cfg_promises(fixture_server, tmp_path):
    site = fixture_server.sites["fixture-trs"]
    db = tmp_path / "trs.db"
    done = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "news", "-a", "site=fixture-trs",
                           "-a", f"base_url={site.base_url}", "-s", f"GOVNEWS_DB={db}", "-s", "LOG_LEVEL=WARNING",
                           # a loopback fixture: no politeness delay (govnews crawl does this for fixture sites)
                           "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert q(db, "SELECT count(*) FROM articles")[0][0] >= 10
    assert q(db, "SELECT site, status FROM crawl_runs") == [("fixture-trs", "ok")]
    assert q(db, "SELECT count(*) FROM captures")[0][0] > 0  # and WARC captures beside it


# Runs the govnews command with sqlite3.connect wrapped to note who opens each connection and whether
# the crawl (the Twisted reactor) was running at the time.
TRACE = textwrap.dedent("""
    import json, sqlite3, sys, traceback
    opened, real = [], sqlite3.connect

    def connect(*args, **kwargs):
        stack = [f"{f.filename}:{f.name}" for f in traceback.extract_stack()[:-1]]
        opened.append({"target": str(args[0] if args else kwargs.get("database")), "stack": stack})
        return real(*args, **kwargs)

    sqlite3.connect = connect
    from crawler.cli import cli
    try:
        cli(sys.argv[2:], standalone_mode=False)
    finally:
        with open(sys.argv[1], "w") as fh:
            json.dump(opened, fh)
""")


def test_only_the_archive_writer_opens_the_archive_during_a_crawl(fixture_server, tmp_path):
    site = fixture_server.sites["fixture-changzhou"]
    db, out = tmp_path / "a.db", tmp_path / "opened.json"
    done = subprocess.run([sys.executable, "-c", TRACE, str(out), "crawl", "--site", "fixture-changzhou",
                           "--base-url", site.base_url, "--db", str(db)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert q(db, "SELECT count(*) FROM articles")[0][0] > 0
    opened = json.loads(out.read_text())
    during = [o for o in opened if any("twisted/internet" in f for f in o["stack"])]
    assert during, "no connection was opened while the crawl ran (the trace is broken)"
    owners = [o for o in during if any("crawler/writer.py" in f for f in o["stack"])]
    assert len(owners) == 1, [o["stack"][-6:] for o in during]
    assert owners == during, [o["stack"][-6:] for o in during if o not in owners]


def test_the_readme_layout_table_matches_the_tree():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) >= 4
    missing = []
    for row in rows:
        top = re.match(r"\| `([^`]+)`", row).group(1)
        assert (REPO / top).exists(), top
        for name in re.findall(r"`([\w./*-]+)`", row.split("|")[2]):
            if "/" in name or name.endswith(".py"):
                path = REPO / top / name if (REPO / top).is_dir() else REPO / name
                if not (list(REPO.glob(str(path.relative_to(REPO)))) if "*" in name else path.exists()):
                    missing.append(f"{top}{name}")
    assert missing == []
    # and every module of crawler/ and archive/ is named in it
    for top in ("crawler", "archive"):
        row = next(r for r in rows if r.startswith(f"| `{top}/`"))
        named = set(re.findall(r"`([\w./*-]+)`", row))
        unnamed = [p.name for p in (REPO / top).glob("*.py") if p.name != "__init__.py" and p.name not in named]
        assert unnamed == [], f"name {unnamed} in the {top}/ row of README.md's Layout table"
