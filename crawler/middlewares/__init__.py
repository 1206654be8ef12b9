"""Scrapy middlewares that keep a crawl correct on slow, flaky and hostile servers (one per module).

Spider middlewares (they filter what passes between the engine and the spider's callbacks):
- link_policy.LinkPolicyMiddleware: off-site and non-http links are never requested, only counted;
  requests go to the clean URL and carry the canonical one;
- response_check.ResponseCheckMiddleware: empty, binary and truncated pages never reach extraction;
  a crashing callback becomes a parse_error.

Downloader middlewares:
- redirect_guard.RedirectGuardMiddleware: redirect loops and off-site redirects are named errors;
- compression_guard.CompressionGuardMiddleware: truncated or corrupt gzip/deflate/br/zstd bodies and
  compression bombs are refused;
- retry_after.RetryAfterMiddleware: Retry-After is honoured (capped), retries stay bounded.

Every refusal becomes a crawler.items.CrawlError (downloader-level ones a govnews/errors/<kind> stat,
crawler.extensions.error_stats), so crawl_runs.errors counts it by kind; crawler.errors says which
kinds are failures. URL rules are in crawler.urls.
"""
