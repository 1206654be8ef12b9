"""Alerts: the health flags of a crawl, sent to a command (`--notify CMD`, the flags as JSON on its
stdin: mail, a chat bot, a pager) or POSTed as JSON to a webhook (`--webhook URL`).

The payload: {"flags": [{"site", "section", "flag", "value", "threshold", "detail", "run_id"}],
"runs": [{"site", "run_id", "status"}]} — every run of the crawl, flagged or not. A failed delivery is
a message for stderr; it never changes the crawl's exit code (the flags are in crawl_health anyway).
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

TIMEOUT = 60  # seconds a notify command or a webhook may take


def alert_payload(summaries: list[dict]) -> dict | None:
    """The alert for a crawl's run summaries; None when no run raised a flag."""
    flags = [f for s in summaries for f in s.get("health") or ()]
    if not flags:
        return None
    runs = [{"site": s.get("site"), "run_id": s.get("run_id"), "status": s.get("status")} for s in summaries]
    return {"flags": flags, "runs": runs}


def notify(command: str, payload: dict, timeout: float = TIMEOUT) -> str | None:
    """Run `command` (a shell command line) with the payload as JSON on stdin; None, or what went wrong."""
    try:
        done = subprocess.run(command, shell=True, input=json.dumps(payload, ensure_ascii=False), text=True,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"--notify command did not finish in {timeout:.0f} s"
    except OSError as e:
        return f"--notify command could not run ({e})"
    if done.returncode:
        tail = (done.stderr or "").strip().splitlines()[-1:] or [""]
        return f"--notify command exited {done.returncode}" + (f": {tail[0]}" if tail[0] else "")
    return None


def post(url: str, payload: dict, timeout: float = TIMEOUT) -> str | None:
    """POST the payload as JSON to `url` (http or https); None, or what went wrong."""
    if not url.startswith(("http://", "https://")):
        return f"--webhook {url!r} is not an http(s) URL"
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "govnews-archive health alert"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as e:
        return f"--webhook {url} answered {e.code}"
    except (urllib.error.URLError, OSError) as e:
        return f"--webhook {url} failed ({getattr(e, 'reason', e)})"
    return None
