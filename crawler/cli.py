"""The `govnews` command: crawling commands here, the archive's own commands (archive.cli) mounted in.

A thin click layer, each command one library call.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from archive.cli import cli as archive_cli
from crawler.discover.cli import discover as discover_command

REPO = Path(__file__).resolve().parents[1]


@click.group()
@click.version_option(package_name="govnews-archive")
def cli() -> None:
    """Archive Chinese government news sites into SQLite and serve them with Datasette."""


for _name, _command in archive_cli.commands.items():
    cli.add_command(_command, _name)
cli.add_command(discover_command, "discover")


def _page_url(path: Path, url: str | None) -> str:
    return url or path.resolve().as_uri()


def _html_bytes(command: str, page: Path) -> bytes:
    """The saved page's bytes; exit 2 with one line when it cannot be a web page (empty, binary, SQLite)."""
    from crawler.middlewares.response_check import looks_binary

    data = page.read_bytes()
    what = "an empty file" if not data.strip() else "an SQLite database" if data.startswith(b"SQLite format 3\0") \
        else "binary data" if looks_binary(data) else None
    if what:
        click.echo(f"govnews {command}: {page} is not an HTML page ({what})", err=True)
        raise SystemExit(2)
    return data


def _print_json(obj: object) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=1))


def _fixture_server():
    """The authored fixture sites live in the source checkout (fixtures/), not in the installed package."""
    try:
        from fixtures.server import FixtureServer, all_sites
    except ImportError:
        if not (REPO / "fixtures" / "server.py").is_file():
            click.echo("govnews: the fixture sites come with a source checkout of govnews-archive "
                       "(run `make demo` there)", err=True)
            raise SystemExit(2) from None
        sys.path.insert(0, str(REPO))
        from fixtures.server import FixtureServer, all_sites
    return FixtureServer, all_sites


@cli.command()
@click.argument("page", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", help="The URL the page was served from (resolves relative links).")
@click.option("--save-fixture", "save_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write DIR/{page.html, meta.json, expected.json}: a new fixture case (check expected.json).")
@click.option("--site", "site_name", help="Apply this site's extraction overrides (site TOML).")
@click.option("--section", help="With --site: also that section's overrides.")
def extract(page: Path, url: str | None, save_dir: Path | None, site_name: str | None, section: str | None) -> None:
    """Extract the article record from a saved PAGE and print it as JSON."""
    from crawler.extract import extract_article

    data = _html_bytes("extract", page)
    overrides = _site_overrides(site_name, section) if site_name else None
    if save_dir is not None:
        _save_case(save_dir, page, url, "article", overrides)
    record = extract_article(_page_url(page, url), data, None, overrides)
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
@click.option("--save-fixture", "save_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write DIR/{page.*, meta.json, expected.json}: a new listing fixture case.")
def links(page: Path, url: str | None, save_dir: Path | None) -> None:
    """Print the article list and the next page of a saved listing PAGE as JSON."""
    from crawler.listing import extract_listing

    data = _html_bytes("links", page)
    if save_dir is not None:
        _save_case(save_dir, page, url, "listing")
    _print_json(extract_listing(_page_url(page, url), data, None))


def _site_overrides(site_name: str, section: str | None) -> dict:
    from crawler.sites import SiteError, load_site

    try:
        site = load_site(site_name, "http://127.0.0.1/" if site_name.startswith("fixture") else None)
        return {**site.overrides, **(site.section(section).overrides if section else {})}
    except SiteError as e:
        raise click.UsageError(str(e)) from e


def _save_case(save_dir: Path, page: Path, url: str | None, kind: str, inputs: dict | None = None) -> None:
    from crawler.extract.cases import CaseError, save_case

    try:
        case = save_case(save_dir, page.read_bytes(), _page_url(page, url), kind, inputs=inputs,
                         ext=page.suffix or ".html")
    except (CaseError, OSError) as e:
        raise click.UsageError(str(e)) from e
    click.echo(f"fixture case written: {case.path}/ (page, meta.json, expected.json)", err=True)


def _size(value: str) -> int:
    """A byte count with an optional K/M/G suffix (powers of 1024)."""
    v = value.strip().upper().removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(v[-1:], 1)
    try:
        return int(float(v[:-1] if mult > 1 else v) * mult)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a size (e.g. 500M, 1G)") from None


@cli.command()
@click.option("--site", "site_names", multiple=True, metavar="NAME",
              help="Site definition name (see `govnews sites`) or a .toml path; repeat it to crawl several at once.")
@click.option("--all", "all_sites", is_flag=True, help="Every site definition that is not a fixture, at once.")
@click.option("--sites", "sites_file", type=click.File(encoding="utf-8"),
              help="A file of site names or .toml paths, one a line (# comments), crawled at once.")
@click.option("--redis", "redis_url", metavar="URL",
              help="Distributed: `govnews worker`s fetch, this process writes (redis://HOST:PORT/DB).")
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Archive file (created if missing).")
@click.option("--create-dirs", is_flag=True, help="Create the --db file's directory if it does not exist.")
@click.option("--base-url", help="Base URL for a fixture site (printed by `govnews fixtures serve`).")
@click.option("--full", is_flag=True, help="Walk every listing page, not only up to the first fully archived one.")
@click.option("--pages", type=click.IntRange(min=1), help="Walk at most N listing pages per section.")
@click.option("--refresh", is_flag=True, help="Re-request archived articles (conditionally: unchanged ones cost a 304).")
@click.option("--warc-dir", type=click.Path(file_okay=False, path_type=Path), help="Where WARC files go [default: <db stem>-warc/].")
@click.option("--warc-max-size", default="1G", show_default=True, help="Start a new WARC file past this size.")
@click.option("--attachment-max-size", default="50M", show_default=True, help="Skip attachments larger than this.")
@click.option("--refresh-attachments", is_flag=True, help="Download archived attachments again (a changed file gets a new text version).")
@click.option("--extract-attachments", is_flag=True,
              help="After the crawl, extract the new attachments' text (as `govnews attachments extract`).")
@click.option("--ocr", is_flag=True, help="With --extract-attachments: OCR scanned PDFs (Tesseract, chi_sim).")
@click.option("--operator", envvar="GOVNEWS_OPERATOR", help="Who runs the crawl (written into each WARC's warcinfo).")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path), help="Per-run log files [default: <db stem>-logs/].")
@click.option("--progress/--no-progress", default=None, help="Live progress line on stderr [default: when stderr is a terminal].")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE", help="Override a Scrapy setting.")
@click.option("--log-level", default="WARNING", show_default=True, help="What reaches stderr (the log file gets INFO).")
@click.option("--notify", "notify_cmd", metavar="CMD", help="When a health check flags a site: run CMD (a shell "
              "command) with the flags as JSON on stdin (docs/operations.md).")
@click.option("--webhook", metavar="URL", help="When a health check flags a site: POST the flags as JSON to URL.")
def crawl(site_names: tuple[str, ...], all_sites: bool, sites_file, redis_url: str | None, db: Path, create_dirs: bool, base_url: str | None, full: bool,
          pages: int | None, refresh: bool, warc_dir: Path | None, warc_max_size: str, attachment_max_size: str,
          refresh_attachments: bool, extract_attachments: bool, ocr: bool, operator: str | None, log_dir: Path | None, progress: bool | None, settings: tuple[str, ...],
          log_level: str, notify_cmd: str | None, webhook: str | None) -> None:
    """Crawl sites into the archive at DB: only what is new, keeping every raw response in WARC.

    Several sites (--site A --site B, --all, --sites FILE) crawl at once in one run, each polite to its
    own hosts; one summary line each, then a total line.

    \b
    Exit codes (of several sites: the worst of theirs):
      0   ok
      1   partial: finished with errors (counted by kind in crawl_runs.errors), or interrupted
      2   usage or configuration error (a bad option, a site whose definition does not load, no --db
          directory, a read-only archive)
      3   finished, and the health checks flagged the site: a section empty, articles taken down, fields
          no longer extracted, a browser now needed (crawl_health; docs/operations.md)
      74  the disk is full: the crawl stopped early (run marked failed, error kind disk_full)
      75  another crawl holds this archive's lock (try again later)
    """
    from crawler.errors import DiskFull, NotWritable
    from crawler.run import (
        EXIT_DISK_FULL,
        EXIT_LOCKED,
        EXIT_USAGE,
        Locked,
        crawl_sites,
        exit_code,
        summary_line,
        total_line,
    )

    names = _site_names(site_names, all_sites, sites_file)
    if webhook and not webhook.startswith(("http://", "https://")):
        _fail(f"--webhook takes an http(s) URL, got {webhook!r}", EXIT_USAGE)
    if base_url and len(names) != 1:
        _fail("--base-url goes with exactly one --site", EXIT_USAGE)
    sites, worst = _load_sites(names, base_url)
    if not db.parent.is_dir():
        if not create_dirs:
            _fail(f"no directory {db.parent} for --db {db}: create it, or pass --create-dirs", EXIT_USAGE)
        db.parent.mkdir(parents=True, exist_ok=True)
    overrides = _crawl_overrides(settings, GOVNEWS_FULL=full, GOVNEWS_REFRESH=refresh, GOVNEWS_MAX_PAGES=pages or 0,
                                 GOVNEWS_WARC_MAX_SIZE=_size(warc_max_size),
                                 GOVNEWS_ATTACHMENT_MAXSIZE=_size(attachment_max_size), GOVNEWS_WARC_DIR=warc_dir,
                                 GOVNEWS_LOG_DIR=log_dir, GOVNEWS_OPERATOR=operator, GOVNEWS_PROGRESS=progress,
                                 GOVNEWS_REDIS=redis_url, GOVNEWS_REFRESH_ATTACHMENTS=refresh_attachments or None)
    if not sites:
        raise SystemExit(worst)
    if redis_url:
        _check_redis(redis_url, "crawl")
    try:
        summaries = crawl_sites(sites, db, overrides, stderr_level=log_level.upper())
    except Locked as e:
        _fail(f"{e}; exiting", EXIT_LOCKED)
    except DiskFull as e:
        _fail(f"{e}; nothing crawled", EXIT_DISK_FULL)
    except NotWritable as e:
        _fail(f"{e}; nothing crawled", EXIT_USAGE)
    for summary in summaries:
        click.echo(summary_line(summary["site"], summary))
        worst = max(worst, exit_code(summary))
        if summary.get("disk_full"):
            recorded = "left 'running' (no room to record it; the next run marks it interrupted)" \
                if summary.get("run_unrecorded") else "marked failed (disk_full)"
            click.echo(f"govnews crawl: {summary['disk_full']}; run {summary['run_id']} stopped early and {recorded}; "
                       "free some space and run again", err=True)
    if len(names) > 1:
        click.echo(total_line(summaries))
    _alert(summaries, notify_cmd, webhook)
    if extract_attachments and not any(s.get("disk_full") for s in summaries):
        _extract_after_crawl(db, warc_dir, ocr)
    raise SystemExit(worst)


def _alert(summaries: list[dict], notify_cmd: str | None, webhook: str | None) -> None:
    """The health flags to --notify CMD / --webhook URL; a failed delivery is one stderr line."""
    from archive.alerts import alert_payload, notify, post

    payload = alert_payload(summaries) if notify_cmd or webhook else None
    if payload is None:
        return
    for problem in (notify(notify_cmd, payload) if notify_cmd else None, post(webhook, payload) if webhook else None):
        if problem:
            click.echo(f"govnews crawl: {problem}; the flags are in crawl_health", err=True)


def _extract_after_crawl(db: Path, warc_dir: Path | None, ocr: bool) -> None:
    """The crawl is over: extract its attachments' text. Whatever happens here never changes the crawl's
    exit code (a failure is one stderr line; `govnews attachments extract` tries again)."""
    from archive.attachments import extract_pending
    from archive.attachments.bounded import Limits
    from archive.attachments.cli import extract_line, ocr_available

    if ocr and (why := ocr_available("chi_sim")):
        click.echo(f"govnews crawl: --ocr: {why}; extracting without OCR", err=True)
        ocr = False
    try:
        click.echo(extract_line(extract_pending(db, Limits(ocr=ocr), warc_dir=warc_dir)))
    except Exception as e:  # noqa: BLE001 - the crawl is done and archived whatever extraction does
        click.echo(f"govnews crawl: attachment text not extracted ({type(e).__name__}: {e}); "
                   "run `govnews attachments extract`", err=True)


def _check_redis(url: str, command: str) -> None:
    from crawler.distributed.redis import RedisUnavailable, connect

    try:
        connect(url)
    except RedisUnavailable as e:
        click.echo(f"govnews {command}: {e}", err=True)
        raise SystemExit(2) from None


@cli.command()
@click.option("--redis", "redis_url", required=True, metavar="URL", help="The run's Redis (redis://HOST:PORT/DB).")
@click.option("--id", "worker_id", help="This worker's name (in its WARC file names) [default: host-pid].")
@click.option("--warc-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where this worker writes its WARC files (gather them beside the archive to verify).")
@click.option("--once", is_flag=True, help="Crawl one published run, then exit.")
def worker(redis_url: str, worker_id: str | None, warc_dir: Path, once: bool) -> None:
    """Fetch, extract and capture for the runs a `govnews crawl --redis` publishes (see docs/distributed.md).

    \b
    Exit codes: 0 after --once; 2 when no Redis answers at URL, or it goes away.
    """
    from crawler.distributed.redis import RedisUnavailable
    from crawler.distributed.worker import default_worker_id, run_worker

    _check_redis(redis_url, "worker")
    warc_dir.mkdir(parents=True, exist_ok=True)
    try:
        raise SystemExit(run_worker(redis_url, worker_id or default_worker_id(), str(warc_dir), once=once))
    except RedisUnavailable as e:  # Redis went away: one line (systemd restarts the worker)
        click.echo(f"govnews worker: {e}", err=True)
        raise SystemExit(2) from None


def _fail(message: str, code: int) -> None:
    click.echo(f"govnews crawl: {message}", err=True)
    raise SystemExit(code)


def _site_names(site_names: tuple[str, ...], all_sites: bool, sites_file) -> list[str]:
    from crawler.run import EXIT_USAGE
    from crawler.sites import site_names as defined

    names = list(site_names)
    if all_sites:
        names += defined(fixtures=False)
    if sites_file is not None:
        names += [line.split("#", 1)[0].strip() for line in sites_file]
    names = list(dict.fromkeys(n for n in names if n))
    if not names:
        _fail("name a site: --site NAME (repeatable), --all or --sites FILE", EXIT_USAGE)
    return names


def _load_sites(names: list[str], base_url: str | None) -> tuple[list, int]:
    """The sites that load, and EXIT_USAGE if any does not (each reported; the others still crawl)."""
    from crawler.run import EXIT_OK, EXIT_USAGE
    from crawler.sites import SiteError, load_site

    sites, worst, seen = [], EXIT_OK, set()
    for name in names:
        try:
            site = load_site(name, base_url)
        except SiteError as e:
            click.echo(f"govnews crawl: {e}", err=True)
            worst = EXIT_USAGE
            continue
        if site.name in seen:
            click.echo(f"govnews crawl: {name}: site {site.name!r} is named twice", err=True)
            worst = EXIT_USAGE
            continue
        seen.add(site.name)
        sites.append(site)
    return sites, worst


def _crawl_overrides(pairs: tuple[str, ...], **options: object) -> dict[str, object]:
    """Scrapy settings from the command's options (unset ones left out) and its -s NAME=VALUE pairs."""
    from crawler.run import EXIT_USAGE

    overrides = {k: str(v) if isinstance(v, Path) else v for k, v in options.items() if v is not None}
    for pair in pairs:
        if "=" not in pair:
            _fail(f"-s takes NAME=VALUE, got {pair!r}", EXIT_USAGE)
        k, v = pair.split("=", 1)
        overrides[k] = v
    return overrides


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
@click.option("--site", "site_name", help="Apply this site's listing hints and show its extraction overrides.")
@click.option("--section", help="With --site: the section (default: the one whose URL is TARGET).")
def probe(target: str, url: str | None, as_json: bool, site_name: str | None, section: str | None) -> None:
    """Show what the listing walker sees on TARGET (a URL or a saved page): mechanism, items, next page."""
    from crawler.listing.probe import describe
    from crawler.listing.probe import probe as run_probe

    settings: dict = {}
    if site_name:
        from crawler.listing.probe import site_settings
        from crawler.sites import SiteError

        try:
            settings = site_settings(site_name, target, section)
        except SiteError as e:
            raise click.UsageError(str(e)) from e
    result = {**run_probe(target, url, settings.get("hints")), **settings}
    click.echo(json.dumps(result, ensure_ascii=False, indent=1) if as_json else describe(result))


@cli.group()
def fixtures() -> None:
    """The authored fixture sites (local mirrors for tests and the demo)."""


@fixtures.command("serve")
def fixtures_serve() -> None:
    """Serve every fixture site on 127.0.0.1 (the portals `govnews discover` reads too) and print each
    site's base URL; Ctrl-C stops."""
    import time

    FixtureServer, all_sites = _fixture_server()
    from fixtures.server import portal_sites  # importable now: _fixture_server() found the checkout

    with FixtureServer(all_sites() + portal_sites()) as server:
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
@click.option("--replay-port", default=8080, show_default=True, type=int,
              help="Replay the archived copies (pywb) on this port beside Datasette; 0: no replay.")
@click.option("--no-serve", is_flag=True, help="Crawl and summarize, then exit without serving.")
def demo(db: Path, port: int, replay_port: int, no_serve: bool) -> None:
    """Serve the fixture sites, crawl them all into DB, and serve the archive with Datasette and its
    archived copies with pywb (each article page links its "archived copy 存档快照")."""
    from crawler.demo import run

    raise SystemExit(run(db, port, replay_port, no_serve, click.echo))


if __name__ == "__main__":
    cli()
