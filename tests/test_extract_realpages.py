"""`govnews extract` on every real article page in ../shared/realpages (skipped when absent)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from shared_corpus import realpages

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
