"""Scrapy settings for govnews-archive. Polite by default: these are fragile government servers."""

BOT_NAME = "govnews"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "govnews-archive/0.1 (archival crawler of public government news; +https://pypi.org/project/govnews-archive/)"
ROBOTSTXT_OBEY = True

# At most 2 requests at once per host, at least 1 s apart, slowed further by AutoThrottle.
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy's remote-control HTTP endpoint has no place in an unattended archival crawl.
REMOTE_CONTROL_ENABLED = False
LOG_INSTALL_ROOT_HANDLER = True
# Let error responses reach the spider's errback with their status, so failures are counted by kind.
HTTPERROR_ALLOW_ALL = False

ITEM_PIPELINES = {
    "crawler.pipelines.ArchivePipeline": 300,
}

REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# govnews settings (set by `govnews crawl`)
GOVNEWS_DB = None
GOVNEWS_SITE = None  # a crawler.sites.Site

# Loopback fixture sites: no delay, more concurrency (robots.txt is still obeyed).
FIXTURE_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "DOWNLOAD_DELAY_JITTER": 0,
}
