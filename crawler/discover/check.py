"""`govnews discover --check --site NAME`: discovery again, against the definition.

Discovery reads the site's home page and every defined section's page (their menus name their siblings),
then compares by listing URL first and by name second:

- renamed:  a defined URL is now linked under another name, or a defined name now links another URL;
- new:      a section discovery finds that the definition does not have (nor names in an
            `# ignore: /path/` line: a section left out on purpose);
- vanished: a defined section no page links any more and whose own URL no longer answers with a list
            (one that still answers is reported as unlinked, not as a change);
- emptied:  a defined section whose page 1 now lists nothing where its evidence line said N items;
- browser:  a defined section that now needs a browser where its evidence line said plain HTTP.

Any of these is a change: exit 3 (the code `govnews crawl` uses for health flags).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

from crawler.listing import extract_listing
from crawler.run import EXIT_HEALTH as EXIT_CHANGED  # 3: the code `govnews crawl` gives its health flags
from crawler.urls import canonical_url

from . import Discovery, Found, discover
from .fetch import Fetcher
from .output import browser_phrase, describe_total, evidence, evidence_line, relative

EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE = 0, 1, 2
# "# ignore: /path/" in a definition: a section discovery finds that the site is not meant to archive.
IGNORE = re.compile(r"^#\s*ignore:\s*(\S+)", re.M)


@dataclass
class Report:
    site: str
    renamed: list[dict] = field(default_factory=list)  # {"from", "to", "url", "new_url"?}
    new: list[Found] = field(default_factory=list)
    vanished: list[dict] = field(default_factory=list)  # {"name", "url", "why"}
    emptied: list[dict] = field(default_factory=list)  # {"name", "url", "was"}
    browser: list[dict] = field(default_factory=list)  # {"name", "url", "why"}
    unlinked: list[dict] = field(default_factory=list)  # {"name", "url", "items"}
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.renamed or self.new or self.vanished or self.emptied or self.browser)


def _definition_text(name_or_path: str) -> str:
    from crawler.sites import site_path

    path = Path(name_or_path) if name_or_path.endswith(".toml") else site_path(name_or_path)
    return path.read_text(encoding="utf-8")


def _still_listed(fetcher: Fetcher, url: str) -> tuple[bool, str, int]:
    page = fetcher.get(url)
    if page.status is None:
        return False, f"no answer ({page.error})", 0
    if page.status != 200:
        return False, f"HTTP {page.status}", 0
    got = extract_listing(url, page.body, page.headers, {"status": page.status})
    if got["items"] or got["shell"] or got["mechanism"] != "none":
        return True, got["mechanism"], len(got["items"])
    return False, "no list on the page", 0


def compare(site, text: str, d: Discovery, fetcher: Fetcher) -> Report:
    """What changed between the definition (its Site and its text) and a discovery run."""
    report = Report(site.name)
    by_url = {canonical_url(f.url): f for f in d.sections}
    defined_urls = {canonical_url(s.url) for s in site.sections}
    taken: set[str] = set()
    for s, ev in zip(site.sections, evidence(text), strict=False):
        key = canonical_url(s.url)
        f = by_url.get(key)
        if f is None:
            moved = next((g for g in d.sections if g.name == s.name and canonical_url(g.url) not in defined_urls), None)
            if moved is not None:
                taken.add(canonical_url(moved.url))
                report.renamed.append({"from": s.name, "to": s.name, "url": s.url, "new_url": moved.url})
                continue
            listed, why, items = _still_listed(fetcher, s.url)
            if listed:
                report.unlinked.append({"name": s.name, "url": s.url, "items": items})
            else:
                report.vanished.append({"name": s.name, "url": s.url, "why": why})
            continue
        taken.add(key)
        if f.name != s.name and s.name not in f.also:
            report.renamed.append({"from": s.name, "to": f.name, "url": s.url})
        elif ev["items"] and not f.items and not f.shell:
            report.emptied.append({"name": s.name, "url": s.url, "was": ev["items"]})
        elif ev["browser"] is False and f.shell:
            report.browser.append({"name": s.name, "url": s.url, "why": f.shell})
        else:
            report.unchanged.append(s.name)
    ignored = {canonical_url(urljoin(site.base_url, u)) for u in IGNORE.findall(text)}
    report.new = [f for f in d.sections if canonical_url(f.url) not in taken | defined_urls | ignored]
    return report


def lines(report: Report) -> list[str]:
    out = []
    for r in report.renamed:
        if r.get("new_url"):
            out.append(f"  renamed   {r['from']}: {relative(r['url'])} -> {relative(r['new_url'])} (same name, new URL)")
        else:
            out.append(f"  renamed   {r['from']} -> {r['to']}  {relative(r['url'])}")
    for f in report.new:
        out.append(f"  new       {f.name}  {relative(f.url)}  {f.mechanism} · {len(f.items)} items on page 1 · "
                   f"{describe_total(f.stated)} · {browser_phrase(f)}")
    out += [f"  vanished  {v['name']}  {relative(v['url'])}  ({v['why']})" for v in report.vanished]
    out += [f"  emptied   {e['name']}  {relative(e['url'])}  0 items on page 1 (the definition says {e['was']})"
            for e in report.emptied]
    out += [f"  browser   {b['name']}  {relative(b['url'])}  now needs a browser ({b['why']})" for b in report.browser]
    out += [f"  unlinked  {u['name']}  {relative(u['url'])}  no page discovery read links it; it still answers "
            f"({u['items']} items on page 1)" for u in report.unlinked]
    if report.unchanged:
        out.append(f"  unchanged {', '.join(report.unchanged)}")
    for f in report.new:  # ready to paste into the definition
        out += ["", "[[sections]]", evidence_line(f), f'name = "{f.name}"', f'url = "{relative(f.url)}"']
    return out


def _record(db: Path, report: Report) -> str:
    """Write the changes as health flags (archive.health's crawl_health table); a line saying so."""
    try:
        from archive.health import record_discovery
    except ImportError:
        return f"govnews discover: --db {db}: this version has no crawl_health table; nothing recorded"
    flags = record_discovery(db, report.site, added=[{"name": f.name, "url": f.url} for f in report.new],
                     vanished=[{"name": v["name"], "url": v["url"]} for v in report.vanished],
                     renamed=[{"from": r["from"], "to": r["to"], "url": r.get("new_url") or r["url"]} for r in report.renamed])
    return f"{len(flags)} health flags recorded in {db} (crawl_health)"


def run_check(name_or_path: str, base_url: str | None, fetcher: Fetcher, echo: Callable[..., None],
              db: Path | None = None) -> int:
    """The --check command: print the report, return the exit code."""
    from crawler.sites import SiteError, load_site

    try:
        site = load_site(name_or_path, base_url)
        text = _definition_text(name_or_path)
    except (SiteError, OSError) as e:
        echo(f"govnews discover: {e}", err=True)
        return EXIT_USAGE
    d = discover(site.base_url, fetcher, seeds=tuple(s.url for s in site.sections))
    home = fetcher._cache.get(site.base_url)
    if home is None or home.status is None:
        echo(f"govnews discover: {site.base_url}: no answer ({home.error if home else 'not fetched'})", err=True)
        return EXIT_UNREACHABLE
    report = compare(site, text, d, fetcher)
    kinds = [(len(report.renamed), "renamed"), (len(report.new), "new"), (len(report.vanished), "vanished"),
             (len(report.emptied), "emptied"), (len(report.browser), "now needing a browser")]
    said = ", ".join(f"{n} {k}" for n, k in kinds if n) or "no change"
    echo(f"{site.name}: {said} ({len(site.sections)} sections defined, {len(d.sections)} found, {d.pages} pages fetched)")
    for line in lines(report):
        echo(line)
    if db is not None and report.changed:
        echo(_record(db, report), err=True)
    return EXIT_CHANGED if report.changed else EXIT_OK
