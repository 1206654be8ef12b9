"""The `govnews` command: a thin click layer, each command one library call."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
@click.version_option(package_name="govnews-archive")
def cli() -> None:
    """Archive Chinese government news sites into SQLite and serve them with Datasette."""


def _page_url(path: Path, url: str | None) -> str:
    return url or path.resolve().as_uri()


def _print_json(obj: object) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=1))


@cli.command()
@click.argument("page", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", help="The URL the page was served from (resolves relative links).")
def extract(page: Path, url: str | None) -> None:
    """Extract the article record from a saved PAGE and print it as JSON."""
    from crawler.extract import extract_article

    record = extract_article(_page_url(page, url), page.read_bytes(), None)
    out = dict(record)
    # The command-line shape lists attachment and image URLs; the full pairs stay under *_links.
    out["attachment_links"] = record.get("attachments", [])
    out["attachments"] = [a["url"] for a in record.get("attachments", [])]
    out["image_links"] = record.get("images", [])
    out["images"] = [i["url"] for i in record.get("images", [])]
    _print_json(out)


@cli.command()
@click.argument("page", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", help="The URL the listing page was served from.")
def links(page: Path, url: str | None) -> None:
    """Print the article list and the next page of a saved listing PAGE as JSON."""
    from crawler.listing import extract_listing

    _print_json(extract_listing(_page_url(page, url), page.read_bytes(), None))
