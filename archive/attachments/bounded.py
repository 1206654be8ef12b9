"""Run one extraction in a worker process bounded in wall-clock time, CPU time and memory."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from archive.attachments.formats import Extracted


@dataclass(frozen=True)
class Limits:
    timeout: float = 120.0  # wall-clock seconds per file (the worker and every program it starts)
    max_memory: int = 1 << 30  # address space per process (bytes)
    ocr: bool = False
    lang: str = "chi_sim"
    ocr_max_pages: int = 50


def _limit(limits: Limits):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.max_memory, limits.max_memory))
        cpu = max(1, int(limits.timeout) + 1)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def run_worker(path: Path, fmt: str, limits: Limits) -> Extracted:
    """Extract in a fresh process; a timeout, a crash or the memory limit becomes the recorded reason."""
    argv = [sys.executable, "-m", "archive.attachments.worker", str(path), fmt, "--lang", limits.lang,
            "--ocr-max-pages", str(limits.ocr_max_pages), *(["--ocr"] if limits.ocr else [])]
    env = {**os.environ, "OMP_THREAD_LIMIT": "1", "PYTHONPATH": _package_root()}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            preexec_fn=_limit(limits), start_new_session=True, env=env)
    try:
        out, err = proc.communicate(timeout=limits.timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return Extracted(fmt, errors=[f"timeout: not done in {limits.timeout:g} s (--timeout)"])
    finally:
        _kill_group(proc)  # programs the worker started and left behind
    if proc.returncode != 0:
        how = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
        if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
            how += " (its CPU time limit)"
        if b"MemoryError" in err or b"Cannot allocate memory" in err or b"std::bad_alloc" in err:
            how = "memory: over the limit (--max-memory)"
        return Extracted(fmt, errors=[f"crashed: {how}"])
    try:
        result = json.loads(out.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return Extracted(fmt, errors=["crashed: the worker printed no result"])
    if "error" in result:
        return Extracted(fmt, errors=[result["error"]])
    return Extracted(**result)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _package_root() -> str:
    root = str(Path(__file__).resolve().parents[2])
    extra = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{extra}" if extra else root
