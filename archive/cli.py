"""The archive's commands (warc, export, serve, search): a thin click layer, each command one library call.

They need nothing from the crawler; crawler.cli mounts them into the one `govnews` command.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
@click.version_option(package_name="govnews-archive")
def cli() -> None:
    """Read, verify, export and serve a govnews archive."""


@cli.group()
def warc() -> None:
    """The raw captures: WARC/1.1 files beside the archive."""


@warc.command("verify")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--db", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Verify this archive's WARC directory and every capture pointer stored in it.")
@click.option("--warc-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The archive's WARC directory [default: <db stem>-warc/]; after a distributed crawl, the "
                   "directory the workers' files were gathered in.")
def warc_verify(paths: tuple[Path, ...], db: Path | None, warc_dir: Path | None) -> None:
    """Read every record of the WARC files, checking digests (and, with --db, the archive's pointers).

    A torn last record (a crawl killed mid-write) is reported and skipped, not an error. With --db, a
    WARC file the archive points into that is not in the WARC directory (a distributed crawl's workers
    write on their own disks) is named once, with where it was written (captures.warc_dir, host:dir)
    and how to gather it. The last line says `ok` or `N problems`.

    \b
    Exit codes:
      0  everything checks out
      1  a problem: a digest mismatch, corruption, a pointer to nothing, a missing WARC file
      2  usage: neither WARC files nor --db given
    """
    from archive.store import data_dir
    from archive.warc import verify, warc_files

    if not paths and db is None:
        raise click.UsageError("give WARC files, or --db ARCHIVE")
    directory = warc_dir or (data_dir(db, "warc") if db is not None else None)
    files = list(paths) + (warc_files(directory) if db is not None else [])
    reports = verify(files)
    problems = 0
    for r in reports:
        note = f"{r.path.name}: {len(r.records)} records"
        if r.torn_at is not None:
            note += f", torn last record at offset {r.torn_at} ({r.torn_bytes} bytes) skipped"
        click.echo(note + ("" if r.ok else f", {len(r.problems)} problems"))
        for p in r.problems:
            click.echo(f"  {p}")
        problems += len(r.problems)
    if db is not None:
        problems += _verify_archive(db, directory, reports)
    records = sum(len(r.records) for r in reports)
    click.echo(f"{problems} problem{'s' if problems != 1 else ''}" if problems else
               f"ok: {len(reports)} WARC files, {records} records")
    raise SystemExit(1 if problems else 0)


def _verify_archive(db: Path, directory: Path, reports: list) -> int:
    """The archive's side of `warc verify`: missing files (each once), then pointers; the problems found."""
    from archive.gather import describe, missing_files
    from archive.warc import verify_pointers

    missing = missing_files(db, {r.path.name for r in reports})
    if missing:
        click.echo(f"{db.name}: " + "\n".join(describe(missing, directory.resolve(), db)))
    bad = verify_pointers(db, reports, missing={m.name for m in missing})
    other = " other" if missing else ""
    click.echo(f"{db.name}: {f'every{other} capture pointer resolves' if not bad else f'{len(bad)} bad pointers'}")
    for p in bad[:50]:
        click.echo(f"  {p}")
    return len(missing) + len(bad)


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
    """Package the WARC captures as WACZ (pages.jsonl, CDXJ index, datapackage with sha256).

    \b
    Exit codes: 2 when WARC files the archive points into are not in --warc-dir (each named, with where
    it was written: gather them first, docs/distributed.md) or there are none.
    """
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
@click.option("--replay-port", type=int, help="Also replay the captures (pywb) on this port; the article page links them.")
def serve(db: Path, host: str, port: int, public: bool, replay_port: int | None) -> None:
    """Serve the archive at DB with Datasette (read-only), and with --replay-port its captures in pywb."""
    import os
    import signal
    import subprocess

    from archive.serve import NotAnArchive, check_database, datasette_argv

    try:
        check_database(db)
    except NotAnArchive as e:
        click.echo(f"govnews serve: {e}", err=True)
        raise SystemExit(2) from None
    argv = datasette_argv(db, host, port, public)
    if replay_port is None:
        os.execv(argv[0], argv)
    replay = subprocess.Popen(_replay_argv(db, None, host, replay_port))
    env = {**os.environ, "GOVNEWS_REPLAY_URL": f"http://{host}:{replay_port}/"}
    signal.signal(signal.SIGTERM, _interrupt)  # stop both servers on SIGTERM too
    click.echo(f"replay (pywb): http://{host}:{replay_port}/archive/", err=True)
    try:
        raise SystemExit(subprocess.run(argv, env=env).returncode)
    except KeyboardInterrupt:
        raise SystemExit(0) from None
    finally:
        replay.terminate()
        replay.wait(timeout=30)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _replay_argv(db: Path, warc_dir: Path | None, host: str, port: int) -> list[str]:
    from archive.replay import ReplayUnavailable, prepare_collection, wayback_argv

    try:
        return wayback_argv(prepare_collection(db, warc_dir), host, port)
    except ReplayUnavailable as e:
        click.echo(f"govnews: {e}", err=True)
        raise SystemExit(2) from None


@cli.command()
@click.option("--db", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--warc-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Where the WARC files are [default: <db stem>-warc/].")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
def replay(db: Path, warc_dir: Path | None, host: str, port: int) -> None:
    """Replay the archive's captures with pywb: http://HOST:PORT/archive/<timestamp>/<url>.

    \b
    Exit codes: 2 when pywb is not installed (`make install` makes .venv-replay).
    """
    import os

    argv = _replay_argv(db, warc_dir, host, port)
    os.execv(argv[0], argv)


@cli.command("search")
@click.argument("query")
@click.option("--db", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--order", type=click.Choice(["relevance", "newest"]), default="relevance", show_default=True)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(min=0), help="Skip this many results first.")
@click.option("--facets", is_flag=True, help="Also count the results by site, section, year, month, issuer, gone, "
              "quality (the same counts as the Datasette search page).")
def search_cmd(query: str, db: Path, order: str, limit: int, offset: int, facets: bool) -> None:
    """Search titles and bodies (exact substrings; several words = all; "quoted" = phrase).

    Prints how many articles match in all, then one page of them (with --facets, first their counts by
    facet). Exit 2 for a query with nothing to search for (blank, or only punctuation).
    """
    from archive.export import connect_ro
    from archive.search import count_matches, search, searchable
    from archive.searching.facets import count_and_facets

    if not searchable(query):
        click.echo(f"govnews search: nothing to search for in {query!r}: give a word (e.g. 政协)", err=True)
        raise SystemExit(2)
    conn = connect_ro(db)
    if facets:  # the total and every facet in one pass over the hits
        total, counts = count_and_facets(conn, query)
        for name, values in counts.items():
            shown = " · ".join(f"{v} {n}" for v, n in values[:FACET_VALUES_SHOWN])
            click.echo(f"{name}: {shown}" + (f" · … ({len(values)} values)" if len(values) > FACET_VALUES_SHOWN else ""))
    else:
        total = count_matches(conn, query)
    rows = list(search(conn, query, order=order, limit=limit, offset=offset))
    from archive.attachments.index import hit_snippet  # a hit in an attachment says so

    for row in rows:
        click.echo(f"{row['published'] or '':<25} {row['title']}\n    {row['url']}\n    "
                   f"{hit_snippet(conn, row, query, start='[', end=']')}")
    click.echo(search_summary(total, offset, len(rows)))


FACET_VALUES_SHOWN = 12


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


from archive.attachments.cli import attachments  # noqa: E402 (the command group, defined beside its library)

cli.add_command(attachments)

if __name__ == "__main__":
    cli()


@cli.command("coverage")
@click.option("--db", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The archive.")
@click.option("--site", help="Only this site (definition name).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def coverage_cmd(db: Path, site: str | None, fmt: str) -> None:
    """Per site and section: its stated size (共N条, recordCount …) against what the archive holds,
    what is gone, and the last complete walk (the Datasette page /<db>/coverage shows the same).

    \b
    Exit codes: 0; 2 when DB is not an archive or has no such --site.
    """
    from archive.coverage import FORMATS, CoverageError, coverage

    try:
        rows = coverage(db, site)
    except CoverageError as e:
        click.echo(f"govnews coverage: {e}", err=True)
        raise SystemExit(2) from None
    click.echo(FORMATS[fmt](rows).rstrip("\n"))
