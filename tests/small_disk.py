"""Run commands on a small filesystem of their own: `python -m tests.small_disk SIZE DIR OUT -- STEP...`.

Meant to run inside `unshare --user --map-root-user --mount` (no root needed where unprivileged user
namespaces are allowed): mounts a tmpfs of SIZE on DIR, visible to this process tree only and gone
when it ends, then runs each STEP (a JSON list: ["remount", options] such as ["remount", "size=64m"] or ["remount", "ro"],
or a command line), and writes what
each step gave (exit code, stdout, stderr) to OUT as JSON. Before every remount and at the end the
archive files under DIR are copied to OUT's folder (`<name>.<step>`) so the test can read them after
the filesystem is gone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def namespace_unavailable() -> str | None:
    """Why a private tmpfs cannot be mounted here (for pytest.skip), or None."""
    if not shutil.which("unshare"):
        return "no unshare(1)"
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && umount $d && rmdir $d"],
                           capture_output=True, text=True)
    if probe.returncode:
        return f"cannot mount a private tmpfs (unprivileged user namespaces off?): {probe.stderr.strip()[:200]}"
    return None


def run_on_small_disk(size: str, folder: Path, out: Path, steps: list[list[str]]) -> list[dict]:
    """Run `steps` in a private user and mount namespace on a tmpfs of `size` at `folder`; their results."""
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", sys.executable, "-m",
                           "tests.small_disk", size, str(folder), str(out), "--", *(json.dumps(s) for s in steps)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    size, folder, out = argv[0], Path(argv[1]), Path(argv[2])
    steps = [json.loads(a) for a in argv[4:]]
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    results = []
    for i, step in enumerate(steps):
        if step[0] == "remount":
            subprocess.run(["mount", "-o", f"remount,{step[1]}", str(folder)], check=True)
            results.append({"step": step})
            continue
        done = subprocess.run(step, capture_output=True, text=True, timeout=300)
        results.append({"step": step, "returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr})
        keep = out.parent / f"step{i}"
        shutil.copytree(folder, keep, ignore=shutil.ignore_patterns("*.lock"))
    out.write_text(json.dumps(results), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
