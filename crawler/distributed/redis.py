"""Connecting to Redis, and the keys of one distributed run."""

from __future__ import annotations

import json
from dataclasses import dataclass

CURRENT = "govnews:current"  # the run workers should join: JSON published by the coordinator
# Longer than any blocking command waits (BLPOP 5 s, XREADGROUP 1 s): redis-py >= 8 defaults the socket
# timeout to 5 s, which a BLPOP of 5 s loses whenever Redis answers a little late (a loaded machine) -
# a TimeoutError that killed idle workers between runs, and the next run then waited for ever.
SOCKET_TIMEOUT = 60


class RedisUnavailable(RuntimeError):
    """No Redis server answers at the given URL."""


def connect(url: str):
    """A redis client for `url` (redis://HOST:PORT/DB), checked with a PING; RedisUnavailable if none."""
    import redis

    try:
        server = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=SOCKET_TIMEOUT,
                                      health_check_interval=30)
        server.ping()
    except (redis.RedisError, ValueError) as e:
        raise RedisUnavailable(f"no Redis server at {url}: {e}") from None
    return server


@dataclass(frozen=True)
class RunKeys:
    """Every key of one run lives under `prefix` (govnews:r<run id>), so a new run never meets the last
    run's fingerprints; the coordinator deletes them when the run ends."""

    prefix: str

    @property
    def requests(self) -> str:
        return f"{self.prefix}:requests"

    @property
    def dupefilter(self) -> str:
        return f"{self.prefix}:dupefilter"

    @property
    def records(self) -> str:
        return f"{self.prefix}:records"

    @property
    def done(self) -> str:
        return f"{self.prefix}:done"

    @property
    def wake(self) -> str:
        return f"{self.prefix}:wake"

    @property
    def digests(self) -> str:
        return f"{self.prefix}:digests"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def coordinator(self) -> str:
        return f"{self.prefix}:coordinator"  # alive while the coordinator consumes (a short TTL)

    def held(self, worker: str) -> str:
        return f"{self.prefix}:held:{worker}"

    def alive(self, worker: str) -> str:
        return f"{self.prefix}:alive:{worker}"

    def all(self, server) -> list[str]:
        return [k.decode() for k in server.scan_iter(f"{self.prefix}:*")]


def published_run(server) -> dict | None:
    raw = server.get(CURRENT)
    return json.loads(raw) if raw else None
