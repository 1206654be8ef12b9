"""`govnews extract` on every real article page in ../shared/realpages (skipped when absent)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.shared_corpus import realpages

ARTICLES = realpages("article")
pytestmark = pytest.mark.skipif(not ARTICLES, reason="../shared/realpages is not available")


def _govnews() -> str:
    exe = Path(sys.executable).parent / "govnews"
    return str(exe) if exe.exists() else (shutil.which("govnews") or "govnews")


@pytest.mark.parametrize("page", ARTICLES, ids=[m["file"] for m in ARTICLES])
def test_cli_extract_real_page(page: dict) -> None:
    argv = [_govnews(), "extract", str(page["path"])] + (["--url", page["url"]] if page.get("url") else [])
    done = subprocess.run(argv, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-500:]
    rec = json.loads(done.stdout)
    assert rec["title"].strip()
    assert rec["body"].strip()
    assert isinstance(rec["attachments"], list) and isinstance(rec["images"], list)


def _scorer():
    import importlib.util

    from tests.shared_corpus import shared_dir

    path = shared_dir() / "tools" / "score_pages.py"
    if not path.is_file():
        pytest.skip("the shared scorer is not available")
    spec = importlib.util.spec_from_file_location("score_pages", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quality_targets_on_real_pages() -> None:
    """The issue-3 targets, scored with the shared yardstick's own functions (in process)."""
    from crawler.extract import extract_article

    scorer = _scorer()
    rows = []
    for page in ARTICLES:
        rec = extract_article(page["url"] or "", page["path"].read_bytes(), None)
        pred = {**rec, "attachments": [a["url"] for a in rec["attachments"]],
                "images": [i["url"] for i in rec["images"]]}
        rows.append(scorer.score_article(pred, page["gold"], page["url"]))

    def share(key):
        vals = [r[key] for r in rows if key in r]
        return sum(vals) / len(vals) if vals else 1.0

    assert share("title") >= 0.98
    assert share("date") >= 0.98
    assert share("time") >= 0.95
    assert share("source") >= 0.90
    assert share("written_date") >= 0.98
    f1 = [r["body_f1"] for r in rows]
    assert sum(f1) / len(f1) >= 0.97
    assert sum(x >= 0.95 for x in f1) / len(f1) >= 0.95
    assert [r for r in rows if r["leaks"]] == []
    assert sum(r["attach_f1"] for r in rows) / len(rows) >= 0.95
