"""What the walker sees on one listing page: the library call behind `govnews probe`."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from crawler.listing import extract_listing


def fetch(url: str, timeout: float = 30) -> tuple[bytes, dict, int]:
    """One polite GET with the crawler's User-Agent; error statuses are returned, not raised."""
    from crawler import settings

    req = urllib.request.Request(url, headers={"User-Agent": settings.USER_AGENT})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read(), dict(resp.headers), resp.status
    except urllib.error.HTTPError as e:
        return e.read(), dict(e.headers or {}), e.code


def site_settings(site_name: str, target: str, section: str | None = None) -> dict:
    """What a site definition adds to a probe of `target`: the section (named, or the one whose URL is
    target), its listing hints (site-wide ones under the section's) and its extraction overrides."""
    from crawler.sites import load_site

    site = load_site(site_name, "http://127.0.0.1/" if site_name.startswith("fixture") else None)
    chosen = None
    for s in site.sections:
        if s.name == section or (section is None and s.url == target):
            chosen = s
    if section is not None and chosen is None:
        site.section(section)  # raises SiteError naming the missing section
    hints = {**site.listing, **(chosen.listing if chosen else {})}
    overrides = {**site.overrides, **(chosen.overrides if chosen else {})}
    return {"site": site.name, "section": chosen.name if chosen else None, "hints": hints, "overrides": overrides}


def probe(target: str, url: str | None = None, hints: dict | None = None) -> dict:
    """Run listing extraction on a saved page (path) or a live URL; the result plus where it came from."""
    path = Path(target)
    if path.is_file():
        body, headers, status = path.read_bytes(), None, None
        page_url = url or path.resolve().as_uri()
    else:
        body, headers, status = fetch(target)
        page_url = url or target
    result = extract_listing(page_url, body, headers, {**(hints or {}), "status": status})
    return {"source": str(target), "url": page_url, "status": status, **result}


def _show(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    return str(value)


def describe(result: dict, limit: int = 10) -> str:
    """A short human summary of a probe result."""
    items = result["items"]
    lines = [f"url:         {result['url']}" + (f"  (HTTP {result['status']})" if result.get("status") else ""),
             f"mechanism:   {result['mechanism']}",
             f"items:       {len(items)}",
             f"next page:   {result['next_page'] or '-'}",
             f"total pages: {result['total_pages'] if result['total_pages'] is not None else '-'}",
             f"encoding:    {result.get('encoding')}"]
    fields = result.get("fields")
    if fields:
        lines.append(f"fields:      url={fields['url']} title={fields['title']} date={fields['date'] or '-'}"
                     + (f" (dates: {', '.join(fields['dates'])})" if fields.get("dates") else ""))
    if result.get("site"):
        lines.append(f"site:        {result['site']}" + (f" / {result['section']}" if result.get("section") else ""))
        for label, table in (("listing:", result.get("hints")), ("overrides:", result.get("overrides"))):
            if table:
                lines.append(f"{label:<13}" + "  ".join(f"{k}={_show(v)}" for k, v in sorted(table.items())))
    if result.get("shell"):
        lines.append(f"needs a browser: {result['shell']}")
    for req in result.get("requests") or []:
        lines.append(f"request:     {req['method']} {req['url']}" + (f"  body={req['body']}" if req.get("body") else ""))
    for item in items[:limit]:
        lines.append(f"  {item.get('date') or '----------'}  {item['title']}  {item['url']}")
    if len(items) > limit:
        lines.append(f"  … {len(items) - limit} more")
    return "\n".join(lines)
