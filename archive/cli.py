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


def _size(value: str) -> int:
    """A byte count with an optional K/M/G suffix (powers of 1024)."""
    v = value.strip().upper().removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(v[-1:], 1)
    try:
        return int(float(v[:-1] if mult > 1 else v) * mult)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a size (e.g. 500M, 1G)") from None


@cli.command()
@click.option("--site", "site_name", required=True, help="Site definition name (see `govnews sites`) or a .toml path.")
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Archive file (created if missing).")
@click.option("--base-url", help="Base URL for a fixture site (printed by `govnews fixtures serve`).")
@click.option("--full", is_flag=True, help="Walk every listing page, not only up to the first fully archived one.")
@click.option("--pages", type=click.IntRange(min=1), help="Walk at most N listing pages per section.")
@click.option("--refresh", is_flag=True, help="Re-request archived articles (conditionally: unchanged ones cost a 304).")
@click.option("--warc-dir", type=click.Path(file_okay=False, path_type=Path), help="Where WARC files go [default: <db stem>-warc/].")
@click.option("--warc-max-size", default="1G", show_default=True, help="Start a new WARC file past this size.")
@click.option("--attachment-max-size", default="50M", show_default=True, help="Skip attachments larger than this.")
@click.option("--operator", envvar="GOVNEWS_OPERATOR", help="Who runs the crawl (written into each WARC's warcinfo).")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path), help="Per-run log files [default: <db stem>-logs/].")
@click.option("--progress/--no-progress", default=None, help="Live progress line on stderr [default: when stderr is a terminal].")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE", help="Override a Scrapy setting.")
@click.option("--log-level", default="WARNING", show_default=True, help="What reaches stderr (the log file gets INFO).")
def crawl(site_name: str, db: Path, base_url: str | None, full: bool, pages: int | None, refresh: bool,
          warc_dir: Path | None, warc_max_size: str, attachment_max_size: str, operator: str | None,
          log_dir: Path | None, progress: bool | None, settings: tuple[str, ...], log_level: str) -> None:
    """Crawl a site into the archive at DB: only what is new, keeping every raw response in WARC.

    \b
    Exit codes:
      0   ok
      1   partial: finished with errors (counted by kind in crawl_runs.errors), or interrupted
      2   usage or configuration error
      75  another crawl holds this archive's lock (try again later)
    """
    from crawler.run import EXIT_LOCKED, EXIT_USAGE, Locked, crawl_site, exit_code, summary_line
    from crawler.sites import SiteError, load_site

    try:
        site = load_site(site_name, base_url)
    except SiteError as e:
        click.echo(f"govnews crawl: {e}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    overrides: dict[str, object] = {
        "GOVNEWS_FULL": full, "GOVNEWS_REFRESH": refresh, "GOVNEWS_MAX_PAGES": pages or 0,
        "GOVNEWS_WARC_MAX_SIZE": _size(warc_max_size), "GOVNEWS_ATTACHMENT_MAXSIZE": _size(attachment_max_size),
    }
    for key, value in (("GOVNEWS_WARC_DIR", warc_dir), ("GOVNEWS_LOG_DIR", log_dir), ("GOVNEWS_OPERATOR", operator),
                       ("GOVNEWS_PROGRESS", progress)):
        if value is not None:
            overrides[key] = str(value) if isinstance(value, Path) else value
    for pair in settings:
        if "=" not in pair:
            click.echo(f"govnews crawl: -s takes NAME=VALUE, got {pair!r}", err=True)
            raise SystemExit(EXIT_USAGE)
        k, v = pair.split("=", 1)
        overrides[k] = v
    try:
        summary = crawl_site(site, db, overrides, stderr_level=log_level.upper())
    except Locked as e:
        click.echo(f"govnews crawl: {e}; exiting", err=True)
        raise SystemExit(EXIT_LOCKED) from None
    click.echo(summary_line(site.name, summary))
    raise SystemExit(exit_code(summary))


@cli.group()
def warc() -> None:
    """The raw captures: WARC/1.1 files beside the archive."""


@warc.command("verify")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--db", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Verify this archive's WARC directory and every capture pointer stored in it.")
@click.option("--warc-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The archive's WARC directory [default: <db stem>-warc/].")
def warc_verify(paths: tuple[Path, ...], db: Path | None, warc_dir: Path | None) -> None:
    """Read every record of the WARC files, checking digests (and, with --db, the archive's pointers).

    A torn last record (a crawl killed mid-write) is reported and skipped, not an error. Exit 0 when
    everything checks out, 1 on a digest mismatch, corruption or a pointer to nothing.
    """
    from archive.store import data_dir
    from archive.warc import verify, verify_pointers, warc_files

    files = list(paths)
    if db is not None:
        files += warc_files(warc_dir or data_dir(db, "warc"))
    if not files:
        raise click.UsageError("give WARC files, or --db ARCHIVE")
    reports = verify(files)
    bad = 0
    for r in reports:
        note = f"{r.path.name}: {len(r.records)} records"
        if r.torn_at is not None:
            note += f", torn last record at offset {r.torn_at} ({r.torn_bytes} bytes) skipped"
        click.echo(note + ("" if r.ok else f", {len(r.problems)} problems"))
        for p in r.problems:
            click.echo(f"  {p}")
        bad += not r.ok
    if db is not None:
        problems = verify_pointers(db, reports)
        click.echo(f"{db.name}: {'every capture pointer resolves' if not problems else f'{len(problems)} bad pointers'}")
        for p in problems[:50]:
            click.echo(f"  {p}")
        bad += bool(problems)
    raise SystemExit(1 if bad else 0)


@cli.group(invoke_without_command=True)
@click.option("--db", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The archive.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "xlsx"]), default="csv", show_default=True)
@click.option("--site", help="Only this site (definition name).")
@click.option("--section", help="Only articles listed in this section (its name, e.g. 常州新闻).")
@click.option("--since", metavar="DATE", help="Published on or after DATE (YYYY-MM-DD).")
@click.option("--until", metavar="DATE", help="Published on or before DATE (YYYY-MM-DD, the whole day).")
@click.option("--out", help="Output file; - writes csv/jsonl to standard output.")
@click.option("--raw-formulas", is_flag=True,
              help="CSV: keep text starting with = + - @ as it is (by default it gets a leading ' so that "
                   "spreadsheets do not run it as a formula; see docs/security.md).")
@click.pass_context
def export(ctx: click.Context, db: Path | None, fmt: str, site: str | None, section: str | None, since: str | None,
           until: str | None, out: str | None, raw_formulas: bool) -> None:
    """Export articles to CSV (UTF-8 with BOM, opens in Excel), JSON Lines or XLSX; or (subcommand) the
    raw captures as WACZ.

    \b
    govnews export --db archive.db --format xlsx --section 常州新闻 --since 2024-01-01 --out 2024.xlsx
    govnews export wacz --db archive.db -o archive.wacz
    """
    if ctx.invoked_subcommand is not None:
        return
    if db is None or out is None:
        raise click.UsageError("export needs --db and --out (or a subcommand: wacz)")
    from archive.export import check_date, count_articles, export_articles

    for opt, value in (("--since", since), ("--until", until)):
        try:
            value is None or check_date(value)
        except ValueError as e:
            click.echo(f"govnews export: {opt} {e}", err=True)
            raise SystemExit(2) from None
    if out == "-" and fmt == "xlsx":
        raise click.UsageError("xlsx needs a file: --out FILE.xlsx")
    target = sys.stdout.buffer if out == "-" else out
    filters = {"site": site, "section": section, "since": since, "until": until, "raw_formulas": raw_formulas}
    if out != "-" and sys.stderr.isatty():
        total = count_articles(db, site, section, since, until)
        with click.progressbar(length=total, label=f"{total} articles", file=sys.stderr) as bar:
            stats = export_articles(db, target, fmt, progress=bar.update, **filters)
    else:
        stats = export_articles(db, target, fmt, **filters)
    note = f" ({stats['truncated_cells']} cells cut to Excel's 32,767 characters)" if stats["truncated_cells"] else ""
    click.echo(f"{out}: {stats['rows']} articles{note}", err=True)


@export.command("wacz")
@click.option("--db", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The .wacz file to write.")
@click.option("--run", "run_id", type=int, help="Only this crawl run's captures (and the originals its revisits refer to).")
@click.option("--warc-dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--title", help="Title in datapackage.json.")
def export_wacz_cmd(db: Path, out: Path, run_id: int | None, warc_dir: Path | None, title: str | None) -> None:
    """Package the WARC captures as WACZ (pages.jsonl, CDXJ index, datapackage with sha256)."""
    from archive.wacz import export_wacz

    try:
        done = export_wacz(db, out, warc_dir=warc_dir, run_id=run_id, title=title)
    except ValueError as e:
        click.echo(f"govnews export wacz: {e}", err=True)
        raise SystemExit(2) from None
    click.echo(f"{done['path']}: {len(done['warc_files'])} WARC files, {done['pages']} pages")


@cli.command()
@click.option("--db", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--public", is_flag=True, help="Serve an immutable snapshot (datasette -i) for deployment.")
def serve(db: Path, host: str, port: int, public: bool) -> None:
    """Serve the archive at DB with Datasette (read-only)."""
    import os

    from archive.serve import NotAnArchive, check_database, datasette_argv

    try:
        check_database(db)
    except NotAnArchive as e:
        click.echo(f"govnews serve: {e}", err=True)
        raise SystemExit(2) from None
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
    import shutil
    import subprocess

    from archive.serve import datasette_argv
    from archive.store import Archive, data_dir
    from fixtures.server import FixtureServer, all_sites

    # Fixture ports change from run to run, and so would every article URL: start from an empty demo archive.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    for what in ("warc", "logs"):  # its raw captures and run logs go with it
        shutil.rmtree(data_dir(db, what), ignore_errors=True)
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


@cli.command("search")
@click.argument("query")
@click.option("--db", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--order", type=click.Choice(["relevance", "newest"]), default="relevance", show_default=True)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(min=0), help="Skip this many results first.")
def search_cmd(query: str, db: Path, order: str, limit: int, offset: int) -> None:
    """Search titles and bodies (exact substrings; several words = all; "quoted" = phrase).

    Prints how many articles match in all, then one page of them. Exit 2 for a query with nothing to
    search for (blank, or only punctuation).
    """
    from archive.export import connect_ro
    from archive.search import count_matches, search, searchable, snippet

    if not searchable(query):
        click.echo(f"govnews search: nothing to search for in {query!r}: give a word (e.g. 政协)", err=True)
        raise SystemExit(2)
    conn = connect_ro(db)
    total = count_matches(conn, query)
    rows = list(search(conn, query, order=order, limit=limit, offset=offset))
    for row in rows:
        click.echo(f"{row['published'] or '':<25} {row['title']}\n    {row['url']}\n    "
                   f"{snippet(row['body'], query, start='[', end=']')}")
    click.echo(search_summary(total, offset, len(rows)))


def search_summary(total: int, offset: int, shown: int) -> str:
    """`N results, showing a–b; more: --offset N` (the line `govnews search` ends with)."""
    if total == 0:
        return "0 results"
    if shown == 0:
        return f"{total} results, none from --offset {offset}"
    line = f"{total} results, showing {offset + 1}–{offset + shown}"
    if offset + shown < total:
        line += f"; more: --offset {offset + shown}"
    return line


if __name__ == "__main__":
    cli()
