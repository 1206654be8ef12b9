"""What archived content may do when we show it: the one place that decides which URLs become links.

Archived pages are hostile. A link we render from archived data may only lead to an http(s) page:
`javascript:`, `vbscript:`, `data:` and every other scheme are refused, after the same normalisation
a browser applies before it reads the scheme (character references decoded, tabs and newlines removed
anywhere, leading/trailing controls and spaces dropped, the scheme compared case-insensitively).
Both the crawler (links it keeps) and the Datasette templates (links they draw) use `web_url`.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

WEB_SCHEMES = frozenset({"http", "https"})
# WHATWG URL parsing removes ASCII tab and newline anywhere, and C0 controls and space at either end.
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_C0_SPACE = "".join(chr(c) for c in range(0x21))
# Bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E/F, U+061C) reorder what a reader sees.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def web_url(url: object) -> str | None:
    """`url` as a browser would read it, if it is an absolute http(s) URL; otherwise None."""
    if not isinstance(url, str):
        return None
    normal = _TAB_NEWLINE.sub("", html.unescape(url)).strip(_C0_SPACE)
    try:
        scheme = urlsplit(normal).scheme.lower()
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    return normal if scheme in WEB_SCHEMES and "//" in normal[:8] else None


def strip_bidi(text: object) -> object:
    """Text without bidirectional control characters (a title with U+202E cannot reverse what follows)."""
    return BIDI_CONTROLS.sub("", text) if isinstance(text, str) else text


# Spreadsheet formulas (OWASP "CSV injection"): a cell that starts with = + - @ (or tab/CR before them)
# is a formula to Excel and LibreOffice. CSV exports prefix such text with one apostrophe, which the
# spreadsheet shows as text; `restore_formula` undoes it exactly (values already starting with
# apostrophes before a trigger get one more, so the mapping is reversible). XLSX stores strings as strings.
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")


def neutralise_formula(value: object) -> object:
    """Text a spreadsheet would run as a formula, made inert with a leading apostrophe; other values as is."""
    return "'" + value if isinstance(value, str) and _FORMULA.match(value) else value


def restore_formula(value: object) -> object:
    """The inverse of neutralise_formula: the text as it was archived."""
    if isinstance(value, str) and value.startswith("'") and _FORMULA.match(value[1:]):
        return value[1:]
    return value
