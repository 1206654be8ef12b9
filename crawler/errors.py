"""Name what went wrong with a request: short, stable kinds counted in crawl_runs.errors.

Kinds are of two sorts. Failures (a page we wanted and could not archive: 5xx, timeouts, resets,
truncated or oversized bodies, pages that are not HTML, parse errors) make the run "partial".
Refusals by policy (robots.txt, off-site links, listing traps cut short, retries that later
succeeded) are counted too, so an operator sees them, but the run can still be "ok".
"""

from __future__ import annotations

import errno
import sqlite3

from scrapy.exceptions import IgnoreRequest
from twisted.python.failure import Failure

# Kinds that are counted in crawl_runs.errors but do not make a run partial.
NOT_FAILURES = frozenset({
    "robots_disallowed", "offsite_link", "bad_link", "listing_trap", "retried", "duplicate_redirect",
    "not_html_document", "attachment_missing",
})


class PageRejected(IgnoreRequest):
    """A response (or a request) our own guards refused; `kind` is the counter name."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class DiskFull(RuntimeError):
    """The filesystem holding the archive, its WARCs or its logs is full: the crawl stopped early."""


_SQLITE_FULL = 13


def is_disk_full(exc: BaseException) -> bool:
    """True for "no space left" from the OS (ENOSPC, EDQUOT) or from SQLite (SQLITE_FULL)."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF == _SQLITE_FULL) or "database or disk is full" in str(exc)
    return False


class NotWritable(RuntimeError):
    """The archive (or the directory beside it) cannot be written: a read-only file or filesystem."""


_SQLITE_READONLY = 8


def is_read_only(exc: BaseException) -> bool:
    """True for a write refused by permissions or a read-only filesystem (OS or SQLite)."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF == _SQLITE_READONLY) or "readonly database" in str(exc)
    return False


def disk_full_message(exc: BaseException, path: object) -> str:
    """One line for the operator: what was being written and what the system said."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"disk full writing {path} ({reason})"


def is_failure(kind: str) -> bool:
    # A page resource that could not be fetched (resource_http_404, resource_timeout, …) is counted;
    # the article it belongs to is archived all the same.
    return kind not in NOT_FAILURES and not kind.startswith("resource_")


def _network_kind(exc: BaseException) -> str | None:
    """Scrapy 2.13+ wraps Twisted's errors in its own classes; older names are kept for safety."""
    from scrapy import exceptions as se

    table = [
        ("DownloadTimeoutError", "timeout"), ("DownloadConnectionRefusedError", "connection_refused"),
        ("CannotResolveHostError", "dns_error"), ("ResponseDataLossError", "data_loss"),
        ("DownloadCancelledError", "too_large"), ("UnsupportedURLSchemeError", "bad_link"),
        ("DownloadFailedError", "connection_lost"),
    ]
    for name, kind in table:
        cls = getattr(se, name, None)
        if cls is not None and isinstance(exc, cls):
            return kind
    name = type(exc).__name__
    if name in ("TimeoutError", "TCPTimedOutError", "UserTimeoutError"):
        return "timeout"
    if name in ("ConnectionRefusedError",):
        return "connection_refused"
    if name in ("DNSLookupError",):
        return "dns_error"
    if name in ("ResponseFailed", "ResponseNeverReceived", "ConnectionLost", "ConnectionDone",
                "ConnectionResetError", "ConnectionAborted", "PotentialDataLoss"):
        reasons = getattr(exc, "reasons", None) or []
        if any(type(getattr(r, "value", r)).__name__ == "_DataLoss" for r in reasons):
            return "data_loss"
        return "connection_lost"
    return None


def error_kind(failure: Failure | BaseException) -> str:
    """A short, stable name for what went wrong with a request (a crawl_runs.errors key)."""
    from scrapy.spidermiddlewares.httperror import HttpError

    exc = failure.value if isinstance(failure, Failure) else failure
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    kind = getattr(exc, "kind", None)
    if isinstance(kind, str):
        return kind
    if isinstance(exc, IgnoreRequest):
        msg = str(exc)
        if "robots.txt" in msg:
            return "robots_disallowed"
        if "max redirections" in msg:
            return "too_many_redirects"
        if "DOWNLOAD_MAXSIZE" in msg or "max size" in msg:
            return "too_large"
        if "offsite" in msg.lower():
            return "offsite_link"
        return "ignored"
    return _network_kind(exc) or type(exc).__name__
