"""Fixture cases, one format for article pages and listing pages.

A case is a directory:

    <case>/page.<ext>      the bytes as a server sent them (html, htm, shtml, json, js, xml …)
    <case>/meta.json       what the extractor gets besides the bytes:
                           {"kind": "article"|"listing", "url": …, "headers": {…}?,
                            "overrides": {…}? (article: per-site selectors),
                            "hints": {…}? (listing: request, mechanism, json_fields …)}
    <case>/expected.json   what it must give: the article record (without content_hash), or the
                           listing's items, next_page, total_pages, mechanism (fields, requests)

`save_case` writes a new case from a saved page with the extractor's current output as the
expectation (`govnews extract PAGE --url URL --save-fixture DIR`): read it, correct it by hand where
the extractor is wrong, and the test fails until the extractor is right.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("article", "listing")
LISTING_KEYS = ("items", "next_page", "total_pages", "mechanism", "fields", "requests")


class CaseError(ValueError):
    """A case directory that cannot be read or written; the message says which and why."""


@dataclass
class Case:
    path: Path
    kind: str
    url: str
    headers: dict | None = None
    inputs: dict = field(default_factory=dict)  # article: overrides; listing: hints

    @property
    def name(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}"

    @property
    def page(self) -> Path:
        pages = sorted(self.path.glob("page.*"))
        if len(pages) != 1:
            raise CaseError(f"{self.path}: expected one page.* file, found {len(pages)}")
        return pages[0]

    def expected(self) -> dict:
        return json.loads((self.path / "expected.json").read_text(encoding="utf-8"))

    def run(self) -> dict:
        """The extractor's output on this case now."""
        body = self.page.read_bytes()
        if self.kind == "article":
            from .article import extract_article

            return extract_article(self.url, body, self.headers, self.inputs or None)
        from crawler.listing import extract_listing

        return extract_listing(self.url, body, self.headers, self.inputs or None)


def load(path: Path | str) -> Case:
    path = Path(path)
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CaseError(f"{path}: no readable meta.json ({e})") from e
    kind = meta.get("kind", "article")
    if kind not in KINDS or not meta.get("url"):
        raise CaseError(f"{path}/meta.json: needs 'url' and 'kind' in {KINDS}")
    inputs = meta.get("overrides" if kind == "article" else "hints") or {}
    return Case(path, kind, meta["url"], meta.get("headers"), dict(inputs))


def find_cases(root: Path | str, kind: str | None = None) -> list[Case]:
    """Every case under root (directories holding a meta.json), sorted by path."""
    cases = [load(m.parent) for m in sorted(Path(root).glob("**/meta.json"))]
    return [c for c in cases if kind is None or c.kind == kind]


def expectation(kind: str, output: dict) -> dict:
    """The part of an extractor's output a case pins down."""
    if kind == "article":
        return {k: v for k, v in output.items() if k != "content_hash"}
    out = {k: output.get(k) for k in LISTING_KEYS if k in output}
    if not out.get("fields"):
        out.pop("fields", None)
    if not out.get("requests"):
        out.pop("requests", None)
    return out


def save_case(path: Path | str, body: bytes, url: str, kind: str = "article", headers: dict | None = None,
              inputs: dict | None = None, ext: str = "html") -> Case:
    """Write a new case directory (refusing to overwrite one) with the current output as expected."""
    path = Path(path)
    if kind not in KINDS:
        raise CaseError(f"kind must be one of {KINDS}")
    if (path / "meta.json").exists() or (path / "expected.json").exists():
        raise CaseError(f"{path}: a case is already there (remove it first)")
    path.mkdir(parents=True, exist_ok=True)
    (path / f"page.{ext.lstrip('.') or 'html'}").write_bytes(body)
    meta: dict = {"kind": kind, "url": url}
    if headers:
        meta["headers"] = dict(headers)
    if inputs:
        meta["overrides" if kind == "article" else "hints"] = dict(inputs)
    _write(path / "meta.json", meta)
    case = load(path)
    _write(path / "expected.json", expectation(kind, case.run()))
    return case


def _write(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
