"""Scrapy settings for govnews-archive. Polite by default: these are fragile government servers."""

BOT_NAME = "govnews"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "govnews-archive/0.1 (archival crawler of public government news; +https://pypi.org/project/govnews-archive/)"
ROBOTSTXT_OBEY = True
# Ask only for content encodings that every WARC reader we ship with can read back: warcio (so `warcio
# check`, cdxj-indexer, wacz and pywb) cannot read br with Google's brotli, nor zstd at all. A server that
# sends br unasked is still archived as received, and our own readers handle it (archive/warc.py).
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
    "Accept-Encoding": "gzip, deflate",
}

# At most 2 requests at once per host, at least 1 s apart, slowed further by AutoThrottle.
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Scrapy runs this many tasks per response to process its output (default 100); our callbacks yield a
# handful of items synchronously, and creating 100 asyncio tasks per page costs more than it buys.
CONCURRENT_ITEMS = 4

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
    "crawler.writer.ArchiveWriter": 300,  # the one pipeline: every archive write of a crawl
}

# Fault tolerance (crawler/middlewares/). Spider middlewares: output hooks run from the highest
# number (nearest the spider) down; input hooks from the lowest (after HttpErrorMiddleware at 50).
# What to fetch and where a walk stops are the spider's (crawler.frontier, crawler.walk), not theirs.
SPIDER_MIDDLEWARES = {
    "crawler.middlewares.response_check.ResponseCheckMiddleware": 60,
    "crawler.middlewares.link_policy.LinkPolicyMiddleware": 980,
}
# Downloader middlewares: response hooks run from the highest number (nearest the network) down, so the
# redirect guard sees a 3xx before RedirectMiddleware (600) and the compression guard sees the raw body before
# HttpCompressionMiddleware (590).
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.retry_after.RetryAfterMiddleware": 550,
    "crawler.middlewares.compression_guard.CompressionGuardMiddleware": 595,
    "crawler.middlewares.redirect_guard.RedirectGuardMiddleware": 610,
    # Raw captures (crawler/capture.py): nearest the network, below Retry (550), HttpCompression (590),
    # Redirect (600) and the guards, so every response is written to WARC exactly as received — each
    # redirect hop and retried attempt, body still content-encoded.
    "crawler.capture.WarcCaptureMiddleware": 950,
}
EXTENSIONS = {
    "crawler.extensions.error_stats.ErrorStats": 500,
    "crawler.extensions.wal_checkpoint.WalCheckpoint": 510,
    "crawler.progress.ProgressLine": 520,
    "crawler.extensions.quiet_log.QuietNetworkLog": 530,
}
# Same article under many URLs (session ids, tracking parameters, index.html vs /): one fingerprint.
REQUEST_FINGERPRINTER_CLASS = "crawler.fingerprint.CanonicalFingerprinter"
GOVNEWS_EXTRACT_PROCESSES = 0  # >0: extract articles in that many worker processes (bulk crawls)
GOVNEWS_MAX_LISTING_PAGES = 5000  # the one page cap: deeper walks are cut (a calendar trap that never repeats)
GOVNEWS_MAX_LISTING_ITEMS = 5000  # article links kept per listing page (a 100,000-link page: the rest cut, counted)
GOVNEWS_RETRY_AFTER_MAX = 60  # seconds; a server asking for longer is given up on for this run
# The writer's batched transactions (crawler/batch.py): commit every N writes or T seconds, whichever first.
GOVNEWS_COMMIT_ITEMS = 200
GOVNEWS_COMMIT_SECONDS = 1.0
GOVNEWS_WAL_MAX_BYTES = 8 * 1024 * 1024  # -wal over this is checkpointed (TRUNCATE) within a second
GOVNEWS_WAL_CHECK_INTERVAL = 1.0

# Pages that need a browser (crawler/browser.py, docs/browser.md): scrapy-playwright drives Debian's
# Chromium when it is installed; the addon leaves everything as it is when it is not.
ADDONS = {"crawler.browser.BrowserAddon": 0}
GOVNEWS_BROWSER = True  # False: never render (pages needing a browser are recorded as needs_browser)
GOVNEWS_CHROMIUM = None  # the executable; default $GOVNEWS_CHROMIUM, /usr/bin/chromium, chromium on $PATH
GOVNEWS_BROWSER_PAGES = 2  # browser pages open at once (the pool); per-host politeness applies as for HTTP
GOVNEWS_BROWSER_TIMEOUT = 30  # seconds a page may take to load, pass its challenge and go quiet

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# govnews settings (set by `govnews crawl`)
GOVNEWS_DB = None
GOVNEWS_SITE = None  # a crawler.sites.Site
GOVNEWS_RUN_ID = None  # the crawl_runs row, opened by crawler.run.crawl_site under the archive lock
GOVNEWS_FULL = False  # walk every listing page, even past pages whose items are all archived
GOVNEWS_MAX_PAGES = 0  # cap listing pages per section (0: no cap)
GOVNEWS_REFRESH = False  # re-request archived articles (conditionally)
GOVNEWS_WARC_DIR = None  # default: <db stem>-warc/ beside the database
GOVNEWS_WARC_MAX_SIZE = 1024 ** 3  # rotate WARC files at 1 GB
GOVNEWS_WARC_GZIP_LEVEL = 6  # 1-9; 9 costs 38% more CPU for 0.5% smaller files (archive/warc.py)
GOVNEWS_OPERATOR = None  # who runs the crawl (written into every warcinfo record)
GOVNEWS_ATTACHMENTS = True
GOVNEWS_ATTACHMENT_MAXSIZE = 50 * 1024 * 1024
GOVNEWS_REFRESH_ATTACHMENTS = False  # download every archived attachment again (a changed file: a new text version)
# Page resources of every archived article (crawler/resources.py): its in-body images always; with
# GOVNEWS_PAGE_RESOURCES also the page's stylesheets, scripts, template images and what its stylesheets
# reference. Same site only, plus the CDN hosts a site definition lists (resource_hosts) or these add.
GOVNEWS_PAGE_RESOURCES = True
GOVNEWS_RESOURCE_HOSTS: list[str] = []
GOVNEWS_MAX_RESOURCES = 100  # resources fetched per page at most
GOVNEWS_RESOURCE_MAXSIZE = 10 * 1024 * 1024  # a larger resource is not kept (counted resource_too_large)
GOVNEWS_RESOURCE_TIMEOUT = 30  # seconds
GOVNEWS_MAX_ATTEMPTS = 3  # runs in which a listed article may fail before it is no longer retried
GOVNEWS_PROGRESS = None  # live progress line on stderr: None = only when stderr is a terminal
GOVNEWS_MAX_SITES = 32  # sites crawled at once by one `govnews crawl --all` (the others wait their turn)
# Health checks after every run (archive/health.py, docs/operations.md): flags in crawl_health, exit 3.
GOVNEWS_HEALTH = True
GOVNEWS_HEALTH_MISSING_SHARE = 0.3  # articles_missing: more than this share of a section's articles found missing
GOVNEWS_HEALTH_FILL_DROP = 0.3  # fill_drop: date/source fill rate down >30 points, or mean body length down >30%
GOVNEWS_HEALTH_MIN_ARTICLES = 5  # articles_missing: the fewest archived articles a share is taken of
GOVNEWS_HEALTH_MIN_FILL = 10  # fill_drop: the fewest articles a fill rate is taken of (this run's and the history's)
GOVNEWS_HEALTH_HISTORY = 10  # a section's previous runs looked at

# Loopback fixture sites: no delay, more concurrency (robots.txt is still obeyed).
FIXTURE_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "DOWNLOAD_DELAY_JITTER": 0,
}
