"""Sign-in attempt counters in Redis, shared by every gunicorn worker.

A fixed window per key: the first failure starts the window, each failure adds one, and the
key expires with the window. Both the account and the remote address are counted, so neither
guessing one account's password from many addresses nor many accounts from one address works.
A successful sign-in clears the account's counter, not the address's.

When Redis is unreachable the check lets the attempt through and logs it: the duty room must
be able to sign in during a Redis outage, and argon2 already makes each guess slow.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_SECONDS = 15 * 60
KEY_PREFIX = "dutyline:signin"


@dataclass
class SignInLimiter:
    """Count failed sign-ins per account and per address within a window."""

    connection: redis.Redis
    account_limit: int = ACCOUNT_LIMIT
    address_limit: int = ADDRESS_LIMIT
    window_seconds: int = WINDOW_SECONDS

    def _keys(self, username: str, address: str | None) -> list[tuple[str, int]]:
        return [(f"{KEY_PREFIX}:account:{username.strip().lower()}", self.account_limit),
                (f"{KEY_PREFIX}:address:{address or 'unknown'}", self.address_limit)]

    def is_blocked(self, username: str, address: str | None) -> bool:
        """Tell whether either counter has reached its limit."""
        try:
            keys = self._keys(username, address)
            values = self.connection.mget([key for key, _ in keys])
        except redis.RedisError as exc:
            log.warning("sign-in limiter cannot reach Redis (%s); allowing the attempt", exc)
            return False
        return any(int(value or 0) >= limit for value, (_, limit) in zip(values, keys))

    def record_failure(self, username: str, address: str | None) -> None:
        """Add one failed attempt to both counters."""
        try:
            for key, _ in self._keys(username, address):
                # EXPIRE ... NX needs Redis 7; the embedded server is 6.2, so set it on the first.
                if self.connection.incr(key) == 1:
                    self.connection.expire(key, self.window_seconds)
        except redis.RedisError as exc:
            log.warning("sign-in limiter cannot reach Redis (%s); failure not counted", exc)

    def clear_account(self, username: str) -> None:
        """Forget an account's failures after it signs in."""
        try:
            self.connection.delete(self._keys(username, None)[0][0])
        except redis.RedisError as exc:
            log.warning("sign-in limiter cannot reach Redis (%s)", exc)
