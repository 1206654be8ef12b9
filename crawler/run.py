"""Run a crawl of one site into an archive: the library call behind `govnews crawl`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.sites import Site

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 75


def crawl_settings(site: Site, db: str | Path, overrides: dict | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    if not site.polite:
        settings.update(settings.getdict("FIXTURE_SETTINGS"), priority="project")
    settings.set("GOVNEWS_DB", str(db), priority="cmdline")
    settings.set("GOVNEWS_SITE", site, priority="cmdline")
    settings.set("GOVNEWS_ARGV", sys.argv, priority="cmdline")
    for k, v in (overrides or {}).items():
        settings.set(k, v, priority="cmdline")
    return settings


def crawl_site(site: Site, db: str | Path, overrides: dict | None = None) -> dict:
    """Crawl every section of `site` into the archive at `db`; return the run's summary and status."""
    from crawler.spiders.news import NewsSpider

    settings = crawl_settings(site, db, overrides)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(NewsSpider)
    process.crawl(crawler, site=site)
    process.start()
    stats = crawler.stats
    summary = dict(stats.get_value("govnews/summary") or {})
    summary["status"] = stats.get_value("govnews/status") or "failed"
    summary["run_id"] = stats.get_value("govnews/run_id")
    summary["finish_reason"] = stats.get_value("finish_reason")
    logging.getLogger(__name__).debug("crawl summary %s", summary)
    return summary


def exit_code(summary: dict) -> int:
    return EXIT_OK if summary.get("status") == "ok" else EXIT_PARTIAL
