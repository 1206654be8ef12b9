"""Per-host politeness for every worker together: at most N requests in flight per host and at least a
delay between two requests to it, kept on Redis by one Lua script per acquire (Redis's own clock, so
machines need not agree on the time).

A downloader middleware: a request waits (without blocking the reactor) until the host's lease is
granted, and gives the lease back when its response or error comes. A lease expires on its own after
GOVNEWS_CLUSTER_LEASE seconds, so a killed worker's leases free themselves.
"""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit

from scrapy.exceptions import NotConfigured

from crawler.distributed.redis import RunKeys

ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) and now >= nxt then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
  redis.call('SET', KEYS[2], now + tonumber(ARGV[3]), 'PX', tonumber(ARGV[3]) + 1000)
  return 0
end
if now < nxt then return nxt - now end
return 50
"""


class ClusterThrottleMiddleware:
    def __init__(self, server, keys: RunKeys, per_host: int, delay: float, lease: float) -> None:
        self.server, self.keys = server, keys
        self.per_host, self.delay_ms, self.lease_ms = per_host, int(delay * 1000), int(lease * 1000)
        self._acquire = server.register_script(ACQUIRE)

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        if not s.get("GOVNEWS_REDIS_PREFIX"):
            raise NotConfigured
        from crawler.distributed.redis import connect

        return cls(connect(s.get("GOVNEWS_REDIS")), RunKeys(s.get("GOVNEWS_REDIS_PREFIX")),
                   s.getint("GOVNEWS_CLUSTER_PER_HOST", 2), s.getfloat("GOVNEWS_CLUSTER_DELAY", 1.0),
                   s.getfloat("GOVNEWS_CLUSTER_LEASE", 120.0))

    def _host_keys(self, url: str) -> list[str]:
        host = (urlsplit(url).hostname or "").lower()
        return [f"{self.keys.prefix}:host:{host}:inflight", f"{self.keys.prefix}:host:{host}:next"]

    async def process_request(self, request, spider=None) -> None:
        lease = uuid.uuid4().hex
        keys = self._host_keys(request.url)
        while True:
            wait = self._acquire(keys=keys, args=[lease, self.per_host, self.delay_ms, self.lease_ms])
            if wait == 0:
                request.meta["govnews_lease"] = lease
                return None
            await asyncio.sleep(int(wait) / 1000)

    def _release(self, request) -> None:
        lease = request.meta.pop("govnews_lease", None)
        if lease:
            self.server.zrem(self._host_keys(request.url)[0], lease)

    def process_response(self, request, response, spider=None):
        self._release(request)
        return response

    def process_exception(self, request, exception, spider=None) -> None:
        self._release(request)
