"""Dates as Chinese government pages write them, parsed into ISO 8601.

Accepted: 2025-01-06, 2025/1/6, 2025.01.06, 2025年1月6日, 二〇二五年一月六日 (and full-width digits),
each optionally followed by HH:MM[:SS] (or 10时30分). A time makes the value carry +08:00: every
site in scope publishes in China Standard Time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "O": 0, "Ｏ": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN = "〇○零OＯ一二三四五六七八九十"

_TIME = r"(?:\s*|T)(?P<H>[01]?\d|2[0-3])(?:[:：]|时)(?P<M>[0-5]\d)(?:(?:[:：]|分)(?P<S>[0-5]\d))?"
_NUMERIC = re.compile(
    r"(?<![\d])(?P<y>(?:19|20)\d{2})\s*(?P<sep>[-/.年])\s*(?P<m>[01]?\d)\s*(?:[-/.月])\s*(?P<d>[0-3]?\d)(?![\d])\s*日?"
    r"(?:\s*(?:星期|周|礼拜)[一二三四五六日天])?"  # 2025年1月6日 星期一 10:30
    rf"(?:{_TIME})?"
)
_CHINESE = re.compile(
    rf"(?P<y>[{_CN}]{{4}})\s*年\s*(?P<m>[{_CN}]{{1,2}})\s*月\s*(?P<d>[{_CN}]{{1,3}})\s*日"
)


@dataclass(frozen=True)
class Found:
    day: date
    time: str | None  # "HH:MM:SS"
    start: int
    end: int

    def iso(self) -> str:
        if self.time:
            return f"{self.day.isoformat()}T{self.time}+08:00"
        return self.day.isoformat()


def _cn_number(s: str) -> int | None:
    """Chinese numerals as dates use them: 〇..九 digit strings and 十/二十/三十一 style tens."""
    if "十" in s:
        tens, _, ones = s.partition("十")
        t = _CN_DIGITS.get(tens, None) if tens else 1
        o = _CN_DIGITS.get(ones, None) if ones else 0
        if t is None or o is None:
            return None
        return t * 10 + o
    n = 0
    for ch in s:
        if ch not in _CN_DIGITS:
            return None
        n = n * 10 + _CN_DIGITS[ch]
    return n


def _valid(y: int, m: int, d: int) -> date | None:
    if not 1949 <= y <= 2100:
        return None
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _widen(text: str) -> str:
    # Full-width digits and colons (２０１１年) read as ASCII; same string length keeps offsets valid.
    return text.translate(_FULLWIDTH)


_FULLWIDTH = str.maketrans("０１２３４５６７８９：／－．", "0123456789:/-.")


def find_dates(text: str) -> list[Found]:
    """Every valid date in text, in order of appearance."""
    text = _widen(text)
    out: list[Found] = []
    for m in _NUMERIC.finditer(text):
        # "2025年1月6" without 日 is fine; "2025-01" alone never matches (needs a day).
        if m["sep"] == "年" and "月" not in m.group(0):
            continue
        day = _valid(int(m["y"]), int(m["m"]), int(m["d"]))
        if not day:
            continue
        t = None
        if m["H"] is not None:
            t = f"{int(m['H']):02d}:{m['M']}:{m['S'] or '00'}"
        out.append(Found(day, t, m.start(), m.end()))
    for m in _CHINESE.finditer(text):
        y = _cn_number(m["y"])
        mo = _cn_number(m["m"])
        d = _cn_number(m["d"])
        if y is None or mo is None or d is None:
            continue
        day = _valid(y, mo, d)
        if day:
            out.append(Found(day, None, m.start(), m.end()))
    out.sort(key=lambda f: f.start)
    return out


def first_date(text: str | None) -> Found | None:
    if not text:
        return None
    found = find_dates(text)
    return found[0] if found else None


def parse_date(text: str | None) -> str | None:
    """ISO 8601 form of the first date in text (with +08:00 when a time is given), else None."""
    f = first_date(text)
    return f.iso() if f else None


_URL_DATES = (
    re.compile(r"/t((?:19|20)\d{2})(\d{2})(\d{2})_\d+"),  # TRS: /202501/t20250106_123.html
    re.compile(r"/art/((?:19|20)\d{2})/(\d{1,2})/(\d{1,2})/"),  # Hanweb: /art/2020/2/6/art_1_2.html
    re.compile(r"/((?:19|20)\d{2})-(\d{2})/(\d{2})/"),  # ENP: /2023-12/01/content_1.html
    re.compile(r"/((?:19|20)\d{2})(\d{2})(\d{2})/"),  # /20250106/
    re.compile(r"/((?:19|20)\d{2})/(\d{2})(\d{2})/"),  # /2025/0106/
    re.compile(r"/((?:19|20)\d{2})[-_/](\d{1,2})[-_/](\d{1,2})/"),
)


def date_from_url(url: str | None) -> str | None:
    """The publication date many CMSs encode in the article path, else None."""
    if not url:
        return None
    path = urlsplit(url).path
    for rx in _URL_DATES:
        m = rx.search(path)
        if m:
            day = _valid(int(m[1]), int(m[2]), int(m[3]))
            if day:
                return day.isoformat()
    return None
