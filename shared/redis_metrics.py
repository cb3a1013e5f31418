"""The two Redis failure counters both services expose, and which failure goes where.

``newsdrop_redis_connection_errors_total``: the connection was lost, refused or timed out
(transient: retried with a short backoff). ``newsdrop_redis_auth_errors_total``: Redis
refuses the credentials or the ACL (permanent until someone fixes them; ``shared.retry``
classifies). A refusal is counted only as an auth error, although redis-py's
``AuthenticationError`` is a ``ConnectionError``.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from newsdrop.shared.retry import ErrorKind, classify


@dataclass(frozen=True, slots=True)
class RedisErrorCounters:
    connection: Counter
    auth: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry, service: str) -> RedisErrorCounters:
        return cls(
            connection=Counter(
                "newsdrop_redis_connection_errors",
                f"Redis calls of the {service} that failed: connection lost or refused, timeout.",
                registry=registry,
            ),
            auth=Counter(
                "newsdrop_redis_auth_errors",
                f"Redis calls of the {service} refused for the credentials or the ACL "
                "(WRONGPASS, NOAUTH, NOPERM).",
                registry=registry,
            ),
        )

    def count(self, exc: BaseException) -> None:
        """Count one failed call; other error replies (OOM, READONLY, ...) count nowhere."""
        if classify(exc) is ErrorKind.PERMANENT:
            self.auth.inc()
        elif isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError):
            self.connection.inc()
