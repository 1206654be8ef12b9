"""A Discovery as a site definition (crawler/sites/*.toml), one evidence line per section:

    [[sections]]
    # found: menu "工作动态" on /xwzx/ · trs-createPageHTML · 15 items on page 1 · 共38条/共3页 · plain HTTP
    name = "工作动态"
    url = "/xwzx/gzdt/"

A site on a loopback address is written as a fixture (`fixture = true`, no base_url: its port changes from
run to run; crawl it with --base-url). `evidence(text)` reads the evidence lines back (for --check).
"""

from __future__ import annotations

import json
import re
from datetime import date
from urllib.parse import urlsplit

from . import Discovery, Found
from .fetch import is_loopback

EVIDENCE = re.compile(r"^#\s*found:\s*(?P<rest>.*)$", re.M)
ITEMS = re.compile(r"(\d+) items on page 1")


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a TOML basic string


def relative(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def describe_total(stated: dict | None) -> str:
    """'共38条/共3页', '共45条', 'no stated total'."""
    if not stated:
        return "no stated total"
    parts = [f"共{stated['items']}条"] if stated.get("items") is not None else []
    parts += [f"共{stated['pages']}页"] if stated.get("pages") is not None else []
    return "/".join(parts)


def browser_phrase(f: Found) -> str:
    return f"needs a browser ({f.shell})" if f.shell else "plain HTTP"


def evidence_line(f: Found) -> str:
    how = f'{f.how} "{f.name}"' if f.how in ("menu", "目录", "breadcrumb", "box", "start page") else f"{f.how} link \"{f.name}\""
    return (f"# found: {how} on {relative(f.on)} · {f.mechanism} · {len(f.items)} items on page 1 · "
            f"{describe_total(f.stated)} · {browser_phrase(f)}")


def site_name(url: str) -> str:
    """www.example.gov.cn -> example; gxt.jiangsu.gov.cn -> gxt-jiangsu (the registry's habit)."""
    host = (urlsplit(url).hostname or "site").lower()
    if is_loopback(url):
        return "discovered"
    host = re.sub(r"^www\.", "", host)
    host = re.sub(r"\.(?:gov\.cn|org\.cn|com\.cn|edu\.cn|cn|com|org|net)$", "", host)
    return host.replace(".", "-") or "site"


def render(d: Discovery, name: str | None = None, command: str | None = None) -> str:
    """The site TOML text."""
    name = name or site_name(d.start)
    fixture = is_loopback(d.start)
    parts = urlsplit(d.start)
    head = [f"# {d.title or parts.netloc} ({parts.netloc}): written by `{command or 'govnews discover ' + d.start}`"
            f" on {date.today().isoformat()}.",
            "# One evidence line per section: how it was found, the listing mechanism, items on page 1, the",
            "# stated total, whether it needs a browser. Check each before a long crawl (`govnews probe URL`)."]
    if d.note:
        head.append(f"# Discovery {d.note}: some candidates were not probed.")
    lines = [*head, f"name = {_q(name)}", f"title = {_q(d.title or name)}"]
    if fixture:
        lines.append("fixture = true  # a loopback address: pass --base-url to crawl it")
    else:
        lines += [f"base_url = {_q(f'{parts.scheme}://{parts.netloc}/')}", f"allowed_hosts = [{_q(parts.netloc.lower())}]"]
    for f in d.sections:
        lines += ["", "[[sections]]", evidence_line(f), f"name = {_q(f.name)}", f"url = {_q(relative(f.url))}"]
    others = [f for f in d.found if not f.is_section]
    if others:
        lines += ["", "# Looked at, not sections:"]
        lines += [f"#   {f.name} {relative(f.url)}: {f.verdict}" for f in others[:40]]
    if d.elsewhere:
        lines += ["", "# On other hosts (not followed; a site of its own, or add the host to allowed_hosts):"]
        lines += [f"#   {link.text} {link.url}" for link in d.elsewhere[:20]]
    if not d.sections:
        lines += ["", "# No section found: give a column page as the start URL, or write [[sections]] by hand."]
    return "\n".join(lines) + "\n"


def evidence(text: str) -> list[dict]:
    """The evidence of each [[sections]] block of a definition, in order: {"line", "items", "browser"}
    (items None and browser None where a block has no evidence line discovery wrote)."""
    out = []
    for block in text.split("[[sections]]")[1:]:
        m = EVIDENCE.search(block)
        if not m:
            out.append({"line": None, "items": None, "browser": None})
            continue
        rest = m.group("rest")
        n = ITEMS.search(rest)
        out.append({"line": rest, "items": int(n.group(1)) if n else None, "browser": "needs a browser" in rest})
    return out
