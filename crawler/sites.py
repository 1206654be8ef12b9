"""Site definitions: one TOML file per site in crawler/sites/, validated on load.

A definition names the site, the hosts the crawl may touch and the sections to walk. Fixture sites
(our own mirrors served on 127.0.0.1) say `fixture = true` and take their base URL at run time.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from crawler.urls import url_allowed

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SITES_DIR = Path(__file__).with_name("sites")

_SITE_KEYS = {"name", "title", "base_url", "allowed_hosts", "fixture", "sections", "overrides", "listing",
              "polite", "notes", "render", "resource_hosts"}
_SECTION_KEYS = {"name", "url", "listing", "overrides", "render"}
# How a section's pages are fetched: "auto" (plain HTTP; a shell or a challenge is retried once in the
# browser, and the section remembers it), "browser" (always rendered), "http" (never rendered).
RENDER_MODES = ("auto", "browser", "http")


class SiteError(ValueError):
    """A site definition is missing, malformed or invalid; the message says which file and key."""


@dataclass(frozen=True)
class Section:
    name: str
    url: str
    listing: dict = field(default_factory=dict)  # listing-walk hints (mechanism and its parameters)
    overrides: dict = field(default_factory=dict)
    render: str = "auto"  # one of RENDER_MODES


@dataclass(frozen=True)
class Site:
    name: str
    title: str
    base_url: str
    allowed_hosts: tuple[str, ...]
    sections: tuple[Section, ...]
    fixture: bool = False
    overrides: dict = field(default_factory=dict)  # extraction selector overrides (title/body/date/source)
    listing: dict = field(default_factory=dict)
    polite: bool = True  # real servers get robots.txt, throttling and delays; loopback fixtures may not
    resource_hosts: tuple[str, ...] = ()  # CDN hosts (host[:port]) whose page resources are fetched too

    def section(self, name: str) -> Section:
        for s in self.sections:
            if s.name == name:
                return s
        raise SiteError(f"site {self.name!r} has no section {name!r}")


_LISTING_KEYS = {"mechanism", "params", "items_css", "json_fields"}
_JSON_FIELD_KEYS = {"url", "title", "date"}


def _check_listing(listing: object, where: str) -> dict:
    """Listing-walk hints: which mechanism to force and its parameters (see crawler.listing)."""
    from crawler.listing import HINT_MECHANISMS

    if not isinstance(listing, dict):
        raise SiteError(f"{where}: 'listing' must be a table")
    unknown = set(listing) - _LISTING_KEYS
    if unknown:
        raise SiteError(f"{where}: unknown listing key(s) {sorted(unknown)}; allowed: {sorted(_LISTING_KEYS)}")
    mech = listing.get("mechanism")
    if mech is not None and mech not in HINT_MECHANISMS:
        raise SiteError(f"{where}: unknown listing mechanism {mech!r}; known: {sorted(HINT_MECHANISMS)}")
    if not isinstance(listing.get("params", {}), dict):
        raise SiteError(f"{where}: listing 'params' must be a table")
    jf = listing.get("json_fields", {})
    if not isinstance(jf, dict) or set(jf) - _JSON_FIELD_KEYS or not all(isinstance(v, str) and v for v in jf.values()):
        raise SiteError(f"{where}: listing 'json_fields' must be a table of record key names with keys "
                        f"{sorted(_JSON_FIELD_KEYS)}")
    return dict(listing)


OVERRIDE_KEYS = ("title", "body", "date", "source")


def _check_overrides(overrides: object, where: str) -> dict:
    """Extraction overrides: {title, body, date, source} -> a CSS selector or an XPath ("/…", "(…")."""
    from lxml import etree
    from lxml.cssselect import CSSSelector, SelectorError

    if not isinstance(overrides, dict):
        raise SiteError(f"{where}: 'overrides' must be a table")
    unknown = set(overrides) - set(OVERRIDE_KEYS)
    if unknown:
        raise SiteError(f"{where}: unknown override(s) {sorted(unknown)}; allowed: {list(OVERRIDE_KEYS)}")
    for name, sel in overrides.items():
        if not isinstance(sel, str) or not sel.strip():
            raise SiteError(f"{where}: overrides.{name} must be a CSS selector or an XPath")
        try:
            etree.XPath(sel) if sel.startswith(("/", "(")) else CSSSelector(sel)
        except (etree.XPathSyntaxError, SelectorError, ValueError) as e:
            raise SiteError(f"{where}: overrides.{name}: invalid selector {sel!r} ({e})") from None
    return dict(overrides)


def _check_render(value: object, where: str) -> str:
    if value not in RENDER_MODES:
        raise SiteError(f"{where}: render must be one of {list(RENDER_MODES)}, not {value!r}")
    return str(value)


def _check_url(url: str, where: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SiteError(f"{where}: {url!r} is not an absolute http(s) URL")


def parse_site(data: dict, source: str, base_url: str | None = None) -> Site:
    """Validate one definition (already parsed TOML) and return the Site, resolving section URLs."""
    unknown = set(data) - _SITE_KEYS
    if unknown:
        raise SiteError(f"{source}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_SITE_KEYS)}")
    name = data.get("name")
    if not name or not isinstance(name, str):
        raise SiteError(f"{source}: missing 'name'")
    fixture = bool(data.get("fixture", False))
    base = base_url or data.get("base_url")
    if not base:
        hint = " (a fixture site: pass --base-url from `govnews fixtures serve`)" if fixture else ""
        raise SiteError(f"{source}: no base_url{hint}")
    base = base.rstrip("/") + "/"
    _check_url(base, f"{source}: base_url")
    hosts = tuple(data.get("allowed_hosts") or ())
    if fixture or not hosts:  # host:port when the base URL names a port
        parts = urlsplit(base)
        hosts = (parts.netloc.lower() if parts.port else parts.hostname,)
    raw_sections = data.get("sections") or []
    if not raw_sections:
        raise SiteError(f"{source}: no [[sections]]")
    render = _check_render(data.get("render", "auto"), source)
    sections = []
    for i, s in enumerate(raw_sections):
        where = f"{source}: sections[{i}]"
        unknown = set(s) - _SECTION_KEYS
        if unknown:
            raise SiteError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_SECTION_KEYS)}")
        if not s.get("name"):
            raise SiteError(f"{where}: missing section 'name'")
        if not s.get("url"):
            raise SiteError(f"{where} ({s['name']}): missing 'url'")
        url = urljoin(base, s["url"])
        _check_url(url, where)
        if not url_allowed(url, hosts):
            raise SiteError(f"{where}: {url} is outside allowed_hosts {list(hosts)}")
        sections.append(Section(name=s["name"], url=url, listing=_check_listing(s.get("listing", {}), where),
                                overrides=_check_overrides(s.get("overrides", {}), where),
                                render=_check_render(s.get("render", render), where)))
    resource_hosts = data.get("resource_hosts") or []
    if not isinstance(resource_hosts, list) or not all(isinstance(h, str) and h.strip() for h in resource_hosts):
        raise SiteError(f"{source}: resource_hosts must be a list of host names (host or host:port)")
    return Site(name=name, title=data.get("title", name), base_url=base, allowed_hosts=hosts,
                resource_hosts=tuple(h.strip().lower() for h in resource_hosts),
                sections=tuple(sections), fixture=fixture, overrides=_check_overrides(data.get("overrides", {}), source),
                listing=_check_listing(data.get("listing", {}), source), polite=bool(data.get("polite", not fixture)))


def site_path(name: str) -> Path:
    return SITES_DIR / f"{name}.toml"


def load_site(name_or_path: str, base_url: str | None = None) -> Site:
    """Load a site by name (crawler/sites/NAME.toml) or by a path to a TOML file."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = site_path(name_or_path)
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in SITES_DIR.glob("*.toml")))
        raise SiteError(f"no site definition {name_or_path!r} (known: {known})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise SiteError(f"{path.name}: invalid TOML: {e}") from e
    return parse_site(data, path.name, base_url)


def site_names(fixtures: bool | None = None) -> list[str]:
    """Names of every defined site; fixtures=True/False keeps only fixture or only real sites."""
    names = []
    for p in sorted(SITES_DIR.glob("*.toml")):
        data = tomllib.loads(p.read_text(encoding="utf-8"))
        if fixtures is None or bool(data.get("fixture", False)) == fixtures:
            names.append(p.stem)
    return names
