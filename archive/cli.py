"""The `govnews` command: a thin click layer, each command one library call."""

from __future__ import annotations

import json
import sys
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


@cli.command()
@click.option("--site", "site_name", required=True, help="Site definition name (see `govnews sites`) or a .toml path.")
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Archive file (created if missing).")
@click.option("--base-url", help="Base URL for a fixture site (printed by `govnews fixtures serve`).")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE", help="Override a Scrapy setting.")
@click.option("--log-level", default="INFO", show_default=True)
def crawl(site_name: str, db: Path, base_url: str | None, settings: tuple[str, ...], log_level: str) -> None:
    """Crawl every section of a site into the archive at DB.

    Exit codes: 0 ok, 1 finished with errors (partial), 2 usage or configuration error.
    """
    from crawler.run import EXIT_USAGE, crawl_site, exit_code
    from crawler.sites import SiteError, load_site

    try:
        site = load_site(site_name, base_url)
    except SiteError as e:
        click.echo(f"govnews crawl: {e}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    overrides: dict[str, str] = {"LOG_LEVEL": log_level}
    for pair in settings:
        if "=" not in pair:
            click.echo(f"govnews crawl: -s takes NAME=VALUE, got {pair!r}", err=True)
            raise SystemExit(EXIT_USAGE)
        k, v = pair.split("=", 1)
        overrides[k] = v
    summary = crawl_site(site, db, overrides)
    click.echo(f"{site.name}: {summary['status']} run={summary.get('run_id')} new={summary.get('new', 0)} "
               f"updated={summary.get('updated', 0)} unchanged={summary.get('unchanged', 0)} "
               f"failed={summary.get('failed', 0)} requests={summary.get('requests', 0)}")
    raise SystemExit(exit_code(summary))


@cli.command()
@click.option("--db", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--public", is_flag=True, help="Serve an immutable snapshot (datasette -i) for deployment.")
def serve(db: Path, host: str, port: int, public: bool) -> None:
    """Serve the archive at DB with Datasette (read-only)."""
    import os

    from archive.serve import datasette_argv

    argv = datasette_argv(db, host, port, public)
    os.execv(argv[0], argv)


@cli.command()
def sites() -> None:
    """List the site definitions and their sections."""
    from crawler.sites import load_site, site_names

    for name in site_names():
        site = load_site(name, "http://127.0.0.1/" if name.startswith("fixture") else None)
        click.echo(f"{name}\t{site.title}" + ("\t(fixture)" if site.fixture else f"\t{site.base_url}"))
        for s in site.sections:
            click.echo(f"  {s.name}\t{'' if site.fixture else s.url}")


@cli.command()
@click.argument("target")
@click.option("--url", help="For a saved page: the URL it was served from.")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
def probe(target: str, url: str | None, as_json: bool) -> None:
    """Show what the listing walker sees on TARGET (a URL or a saved page): mechanism, items, next page."""
    from crawler.listing.probe import describe
    from crawler.listing.probe import probe as run_probe

    result = run_probe(target, url)
    click.echo(json.dumps(result, ensure_ascii=False, indent=1) if as_json else describe(result))


@cli.group()
def fixtures() -> None:
    """The authored fixture sites (local mirrors for tests and the demo)."""


@fixtures.command("serve")
def fixtures_serve() -> None:
    """Serve every fixture site on 127.0.0.1 and print each site's base URL; Ctrl-C stops."""
    import time

    from fixtures.server import FixtureServer, all_sites

    with FixtureServer(all_sites()) as server:
        for name, url in server.base_urls().items():
            click.echo(f"{name}\t{url}")
        sys.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


@cli.command()
@click.option("--db", default="demo.db", show_default=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Crawl and summarize, then exit without serving.")
def demo(db: Path, port: int, no_serve: bool) -> None:
    """Serve the fixture sites, crawl them all into DB, and serve the archive with Datasette."""
    import subprocess

    from archive.serve import datasette_argv
    from archive.store import Archive
    from fixtures.server import FixtureServer, all_sites

    # Fixture ports change from run to run, and so would every article URL: start from an empty demo archive.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    worst = 0
    with FixtureServer(all_sites()) as server:
        for name, url in server.base_urls().items():
            click.echo(f"crawling {name} at {url}")
            done = subprocess.run([sys.executable, "-m", "archive.cli", "crawl", "--site", name,
                                   "--base-url", url, "--db", str(db), "--log-level", "WARNING"])
            worst = max(worst, done.returncode)
        with Archive(db) as archive:
            counts = archive.counts()
        click.echo(f"{db}: {counts['articles']} articles, {counts['attachments']} attachments, "
                   f"{counts['crawl_runs']} crawl runs")
        if no_serve:
            raise SystemExit(worst)
        click.echo(f"Datasette: http://127.0.0.1:{port}/  (Ctrl-C stops)")
        try:
            subprocess.run(datasette_argv(db, "127.0.0.1", port))
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    cli()
