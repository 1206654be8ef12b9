"""Decode page bytes the way the crawler and the CLI both do.

Government servers often send a charset that disagrees with the bytes (GBK pages labelled UTF-8 and the
reverse) or none at all. Valid UTF-8 with non-ASCII bytes is almost never GBK text by accident, while
UTF-8 bytes often decode "successfully" as GBK into mojibake, so strict UTF-8 is tried before any label.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.I)
# GB2312 and GBK pages routinely use characters only GB18030 (their superset) defines.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
              "iso-8859-1": "cp1252", "latin-1": "cp1252", "ascii": "utf-8", "us-ascii": "utf-8"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def normalize_charset(name: str | None) -> str | None:
    """Return a Python codec name for a declared charset, or None when it is unknown."""
    if not name:
        return None
    name = name.strip().lower()
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def header_value(headers: Mapping | None, key: str) -> str | None:
    """Read one header from a dict, a Scrapy Headers object or a list of pairs; bytes or str values."""
    if not headers:
        return None
    items = headers.items() if hasattr(headers, "items") else headers
    for k, v in items:
        k = k.decode("latin-1") if isinstance(k, bytes) else str(k)
        if k.lower() == key.lower():
            if isinstance(v, list):
                v = v[0] if v else None
            if isinstance(v, bytes):
                v = v.decode("latin-1")
            return v
    return None


def declared_charsets(body: bytes, headers: Mapping | None = None) -> list[str]:
    """Charsets the HTTP header and the page's own <meta> declare, in that order, normalized."""
    found: list[str] = []
    ctype = header_value(headers, "content-type")
    if ctype:
        m = _HEADER_CHARSET.search(ctype)
        if m:
            found.append(m.group(1))
    m = _META_CHARSET.search(body[:4096])
    if m:
        found.append(m.group(1).decode("ascii", "ignore"))
    out = []
    for name in found:
        codec = normalize_charset(name)
        if codec and codec not in out:
            out.append(codec)
    return out


def decode_html(body: bytes, headers: Mapping | None = None) -> tuple[str, str]:
    """Return (text, encoding) for page bytes; never raises, never returns mojibake for UTF-8/GB pages."""
    text, encoding = _decode(body, headers)
    # Browsers ignore NUL characters in HTML (a parse error); parsers would keep them, or turn them into U+FFFD.
    return text.replace("\x00", ""), encoding


def _decode(body: bytes, headers: Mapping | None) -> tuple[str, str]:
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace"), codec.replace("-sig", "")
    try:
        text = body.decode("utf-8")
        return text, "utf-8"
    except UnicodeDecodeError:
        pass
    # UTF-8 with a few broken bytes (a page cut mid-character, one stray byte from a CMS) is still UTF-8:
    # GB18030 would happily decode it all into mojibake. Real GBK text read as UTF-8 breaks on nearly
    # every Chinese character instead.
    utf8 = body.decode("utf-8", errors="replace")
    bad = utf8.count("\ufffd")
    good = sum(1 for ch in utf8 if ch > "\x7f") - bad
    if bad <= 20 and (bad * 20 <= good or (bad <= 3 and good >= 20)):
        return utf8, "utf-8"
    for codec in declared_charsets(body, headers):
        if codec == "utf-8":
            continue
        try:
            return body.decode(codec), codec
        except UnicodeDecodeError:
            continue
    # Undeclared or wrongly declared non-UTF-8 bytes on a Chinese site are GB-family far more often than not.
    try:
        return body.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        # Neither decodes cleanly: keep whichever loses fewer characters.
        gb = body.decode("gb18030", errors="replace")
        return (utf8, "utf-8") if bad <= gb.count("\ufffd") else (gb, "gb18030")
