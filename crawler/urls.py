"""URL rules shared by the spider, the frontier and the middlewares (pure functions).

- clean_url: the URL to request (same page, minus fragment, session ids and tracking parameters);
- canonical_url: the one URL an article is archived under (clean_url, percent-escaped the way Scrapy
  sends it, /dir/index.html folded into /dir/);
- url_allowed / host_allowed: Scrapy's offsite rule on host:port (an allowed host or a subdomain of
  one, on the port its entry names, or the scheme's default port);
- link_refusal: why a link is never requested (not http(s), off-site), or None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import safe_url_string

# Query parameters that never change which page a server returns: session ids and click tracking.
SESSION_PARAMS = {"jsessionid", "phpsessid", "aspsessionid", "sessionid", "session_id", "sessid", "cfid",
                  "cftoken", "sid_token"}
TRACKING_PARAMS = {"spm", "from", "isappinstalled", "scene", "clicktime", "enterid", "share_token",
                   "sharer_shareid", "sharer_sharetime", "wfr", "fbclid", "gclid", "msclkid", "_hsenc",
                   "_hsmi", "mc_cid", "mc_eid", "yclid", "ref_src", "share_from", "timestamp", "t_"}
TRACKING_PREFIXES = ("utm_", "aspsessionid")
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.I)
_INDEX_FILE = re.compile(r"/(index|default)\.(s?html?|jsp|php|aspx?)$", re.I)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _drop_param(name: str) -> bool:
    n = name.lower()
    return n in SESSION_PARAMS or n in TRACKING_PARAMS or n.startswith(TRACKING_PREFIXES)


def clean_url(url: str) -> str:
    """The URL to request: same page, minus fragment, session ids and tracking parameters.

    Percent-escaped as Scrapy's Request escapes it (w3lib's safe_url_string), so a link written with
    Chinese characters or spaces and the same link escaped are one URL everywhere."""
    parts = urlsplit(safe_url_string(url.strip()))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    path = _PATH_SESSION.sub("", parts.path) or "/"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _drop_param(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((scheme, netloc, path, query, ""))


def canonical_url(url: str) -> str:
    """The one URL an article is archived under: clean_url, and /dir/index.html folded into /dir/."""
    clean = clean_url(url)
    parts = urlsplit(clean)
    path = _INDEX_FILE.sub("/", parts.path)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, "")) if path != parts.path else clean


def _host_port(entry: str) -> tuple[str, int | None]:
    host, sep, port = entry.strip().lower().rpartition(":")
    return (host, int(port)) if sep and port.isdigit() else (entry.strip().lower(), None)


def host_allowed(host: str | None, allowed: Iterable[str], port: int | None = None, scheme: str = "http") -> bool:
    """Scrapy's offsite rule, on host:port: the host is an allowed host or a subdomain of one, and the
    port is the one that entry names — an entry without a port allows the scheme's default port only
    (80 for http, 443 for https), so another port of an allowed host is another site."""
    entries = [_host_port(d) for d in allowed if d]
    if not entries:
        return True
    host = (host or "").lower()
    port = port or _DEFAULT_PORTS.get(scheme)
    return any((host == h or host.endswith("." + h)) and port in ((p,) if p else tuple(_DEFAULT_PORTS.values()))
               for h, p in entries)


def url_allowed(url: str, allowed: Iterable[str]) -> bool:
    """host_allowed for the host, port and scheme of `url`."""
    parts = urlsplit(url or "")
    try:
        port = parts.port
    except ValueError:  # a port that is not a number
        return False
    return host_allowed(parts.hostname, allowed, port, parts.scheme)


def allowed_domains(allowed: Iterable[str]) -> list[str]:
    """The hosts of host[:port] entries, for Scrapy's own offsite filter (which takes no ports)."""
    return sorted({_host_port(d)[0] for d in allowed if d})


def link_refusal(url: str, allowed: Iterable[str]) -> str | None:
    """The error kind for a link that is never requested (bad_link, offsite_link), or None to follow it."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https"):
        return "bad_link"
    if not url_allowed(url, allowed):
        return "offsite_link"
    return None
