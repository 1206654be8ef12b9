"""One attachment's extraction in its own process: `python -m archive.attachments.worker FILE FORMAT [--ocr]`.

Prints one JSON object (archive.attachments.formats.Extracted, or {"error": reason}) on stdout. The
parent (archive.attachments.bounded.run_worker) has already limited this process's address space and CPU
time and kills it, with every program it started, when its wall-clock time is up.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

OUT_OF_MEMORY = ("failed to map segment", "Cannot allocate memory", "cannot allocate memory")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m archive.attachments.worker")
    p.add_argument("file", type=Path)
    p.add_argument("format")
    p.add_argument("--ocr", action="store_true")
    p.add_argument("--lang", default="chi_sim")
    p.add_argument("--ocr-max-pages", type=int, default=50)
    args = p.parse_args(argv)
    try:
        from archive.attachments.formats import ExtractionError, extract

        result = dataclasses.asdict(extract(args.file, args.format, args.ocr, args.lang, args.ocr_max_pages))
    except MemoryError:
        result = {"error": "memory: the extraction needed more memory than allowed (--max-memory)", "kind": "memory"}
    except ExtractionError as e:
        result = {"error": str(e), "kind": "unreadable"}
    except RecursionError:
        result = {"error": "unreadable: nested too deeply", "kind": "unreadable"}
    except Exception as e:  # a parser's own bug on a hostile file: a reason, not a traceback
        result = {"error": f"{type(e).__name__}: {e}"[:500], "kind": "unreadable"}
        if any(s in str(e) for s in OUT_OF_MEMORY):  # the address-space limit hit while loading a library
            result = {"error": f"memory: over the limit (--max-memory): {e}"[:500], "kind": "memory"}
    sys.stdout.write(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
