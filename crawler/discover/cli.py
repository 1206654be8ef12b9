"""The `govnews discover` command (mounted by crawler.cli)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click

EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE = 0, 1, 2


def _fail(message: str, code: int) -> None:
    click.echo(f"govnews discover: {message}", err=True)
    raise SystemExit(code)


@click.command()
@click.argument("url", required=False)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the site TOML here [default: stdout].")
@click.option("--name", help="The site's name in the definition [default: from the host, e.g. gxt-jiangsu].")
@click.option("--check", is_flag=True, help="Compare with an existing definition (--site) instead of writing one.")
@click.option("--site", "site_name", metavar="NAME", help="With --check: the definition (a name or a .toml path).")
@click.option("--base-url", help="With --check of a fixture site: its base URL (`govnews fixtures serve`).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="With --check: also record the changes as health flags in this archive (crawl_health).")
@click.option("--max-pages", default=120, show_default=True, type=click.IntRange(min=1), help="Fetch at most N pages.")
@click.option("--delay", default=1.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds between requests to a real host (loopback fixtures: none).")
def discover(url: str | None, out: Path | None, name: str | None, check: bool, site_name: str | None,
             base_url: str | None, db: Path | None, max_pages: int, delay: float) -> None:
    """Find the news and 政务公开 sections of the site at URL (its home page or any column page) and write
    a site definition with one evidence line per section; or, with --check --site NAME, report the
    sections that are new, renamed or vanished since that definition was written.

    \b
    Exit codes:
      0   ok (discover: at least one section found; --check: no change)
      1   the start page did not answer (or discover found no section)
      2   usage error (no URL, a definition that does not load)
      3   --check: the site changed (a section new, renamed, vanished, emptied or now needing a browser);
          the same code as `govnews crawl`'s health flags
    """
    from crawler.discover import discover as run_discover
    from crawler.discover.fetch import Fetcher

    fetcher = Fetcher(max_pages=max_pages, delay=delay)
    if check:
        if not site_name:
            _fail("--check needs --site NAME (or a .toml path)", EXIT_USAGE)
        from crawler.discover.check import run_check

        raise SystemExit(run_check(site_name, base_url, fetcher, click.echo, db))
    if not url:
        _fail("give the URL of the site's home page or of a column page", EXIT_USAGE)
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        _fail(f"{url!r} is not an http(s) URL", EXIT_USAGE)
    if out and not out.parent.is_dir():
        _fail(f"--out {out}: no directory {out.parent}", EXIT_USAGE)
    found = run_discover(url, fetcher)
    start = fetcher._cache.get(url)
    if start is None or start.status is None:
        _fail(f"{url}: no answer ({start.error if start else 'not fetched'})", EXIT_UNREACHABLE)
    from crawler.discover.output import render

    text = render(found, name)
    if out:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as e:
            _fail(f"--out {out}: {e.strerror or e}", EXIT_USAGE)
    else:
        click.echo(text, nl=False)
    click.echo(summary(found), err=True)
    raise SystemExit(EXIT_OK if found.sections else EXIT_UNREACHABLE)


def summary(d) -> str:
    """One line per section and a total, for stderr."""
    from crawler.discover.output import browser_phrase, describe_total, relative

    lines = [f"  {f.name}\t{relative(f.url)}\t{f.mechanism}\t{len(f.items)} items\t{describe_total(f.stated)}\t{browser_phrase(f)}"
             for f in d.sections]
    lines.append(f"{len(d.sections)} sections of {len(d.found)} candidates, {d.pages} pages fetched"
                 + (f" ({d.note})" if d.note else ""))
    return "\n".join(lines)
