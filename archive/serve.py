"""Serve an archive with Datasette: read-only, with metadata describing every table and column."""

from __future__ import annotations

import json
import sys
import tempfile
from importlib import resources
from pathlib import Path


def metadata_for(db_path: str | Path) -> dict:
    """Our metadata, keyed by the database name Datasette derives from the file name."""
    meta = json.loads(resources.files("archive").joinpath("metadata.json").read_text(encoding="utf-8"))
    meta["databases"] = {Path(db_path).stem: meta["databases"]["archive"]}
    return meta


def datasette_argv(db_path: str | Path, host: str = "127.0.0.1", port: int = 8001, public: bool = False) -> list[str]:
    """The `datasette serve` command line for an archive (written metadata file included)."""
    meta = tempfile.NamedTemporaryFile("w", suffix=".json", prefix="govnews-metadata-", delete=False,
                                       encoding="utf-8")
    json.dump(metadata_for(db_path), meta, ensure_ascii=False)
    meta.close()
    argv = [sys.executable, "-m", "datasette", "serve", "--host", host, "--port", str(port),
            "--metadata", meta.name, "--setting", "sql_time_limit_ms", "3000",
            "--setting", "allow_download", "off"]
    # --public serves an immutable snapshot: Datasette opens it read-only and can use an inspect file.
    argv += ["-i", str(db_path)] if public else [str(db_path)]
    return argv
