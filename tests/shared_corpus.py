"""Locate ../shared (real pages with gold) next to the repository, or via GOVNEWS_SHARED."""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    env = os.environ.get("GOVNEWS_SHARED")
    if env:
        return Path(env) if Path(env).is_dir() else None
    # The repo normally sits beside shared/ (…/main); a git worktree sits one level deeper (…/wt/<name>).
    for up in (REPO.parent, REPO.parent.parent):
        cand = up / "shared"
        if (cand / "realpages" / "manifest.jsonl").is_file():
            return cand
    return None


def realpages(kind: str = "article") -> list[dict]:
    """Manifest entries of the real-page corpus with absolute 'path' and parsed 'gold'; [] when absent."""
    shared = shared_dir()
    if shared is None:
        return []
    corpus = shared / "realpages"
    out = []
    for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        m = json.loads(line)
        if m["kind"] != kind:
            continue
        rel = Path(m["file"]).relative_to("pages")
        m["path"] = corpus / m["file"]
        m["gold"] = json.loads((corpus / "gold" / rel.with_suffix(".json")).read_text(encoding="utf-8"))
        out.append(m)
    return out
