"""Dates as listing rows show them, normalized to YYYY-MM-DD."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_Y = r"((?:19|20)\d{2})"
# Full dates: 2024-01-05, 2024/1/5, 2024.01.05, 2024年1月5日, [2024-01-05], 2024- 01 -05.
FULL = re.compile(_Y + r"\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
# Calendar-style boxes print the day apart from the year-month: "05 2024-01" or "2024-01 05" or "2024.01 / 05".
DAY_FIRST = re.compile(r"(?<!\d)(\d{1,2})\s*[/|]?\s+" + _Y + r"\s*[-/.年]\s*(\d{1,2})(?![\d-])")
DAY_LAST = re.compile(_Y + r"\s*[-/.年]\s*(\d{1,2})\s*月?\s*[/|]?\s+(\d{1,2})(?!\d)")
# Dates in article URLs: /2024/1/5/, /2024-01/05/, t20240105_, /202401/t..., art_..., content_...
URL_DATE = re.compile(r"(?<!\d)" + _Y + r"[-/]?(\d{2})[-/]?(\d{2})(?!\d)|/" + _Y + r"/(\d{1,2})/(\d{1,2})/")


def _ok(y: int, m: int, d: int) -> str | None:
    if 1 <= m <= 12 and 1 <= d <= 31:
        return f"{y:04d}-{m:02d}-{d:02d}"
    return None


def find_date(text: str) -> str | None:
    """The first full date in a piece of row text, or None."""
    if not text:
        return None
    for m in FULL.finditer(text):
        found = _ok(int(m[1]), int(m[2]), int(m[3]))
        if found:
            return found
    m = DAY_FIRST.search(text)
    if m:
        found = _ok(int(m[2]), int(m[3]), int(m[1]))
        if found:
            return found
    m = DAY_LAST.search(text)
    if m:
        return _ok(int(m[1]), int(m[2]), int(m[3]))
    return None


def is_date_only(text: str) -> bool:
    """True when a text node is a date and nothing else (brackets and a time allowed)."""
    t = re.sub(r"[\s\[\]()（）【】:：\d年月日时分秒/.\-|]", "", text or "")
    t = t.replace("发布时间", "").replace("发布日期", "").replace("日期", "").replace("时间", "")
    return not t and find_date(text) is not None


SHORT = re.compile(r"^[\s\[\](（）【】]*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?[\s\[\])）】]*$")


def is_short_date(text: str) -> bool:
    """A date-only text without its year ("05-09", "[5月9日]"): lists that show the year elsewhere."""
    m = SHORT.match(text or "")
    return bool(m) and 1 <= int(m[1]) <= 12 and 1 <= int(m[2]) <= 31


def date_from_url(url: str) -> str | None:
    """A date written in an article URL path (t20240105_1.html, /art/2024/1/5/...), or None."""
    for m in URL_DATE.finditer(url or ""):
        if m[1]:
            found = _ok(int(m[1]), int(m[2]), int(m[3]))
        else:
            found = _ok(int(m[4]), int(m[5]), int(m[6]))
        if found:
            return found
    return None


_CST = timezone(timedelta(hours=8))


def normalize_date(value: object) -> str | None:
    """A date from a JSON field: text in any common form, or epoch seconds/milliseconds (read as +08:00)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit() and len(value) >= 10):
        n = float(value)
        if n > 1e11:
            n /= 1000
        try:
            return datetime.fromtimestamp(n, _CST).strftime("%Y-%m-%d")
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value)
    m = re.fullmatch(r"\s*((?:19|20)\d{2})(\d{2})(\d{2})\s*", text)
    if m:
        return _ok(int(m[1]), int(m[2]), int(m[3]))
    return find_date(text)
