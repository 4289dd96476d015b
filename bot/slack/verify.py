"""Slack's request signature, checked before Bolt sees the request.

Bolt parses a body before it verifies it (a 50k-deep JSON sent unsigned ends in a 500 and a
traceback) and logs the whole body of a request whose signature is wrong (a forged line in
the log, megabytes of it, and with a wrong signing secret every real request's token and
response_url). Here a request is refused unless its `X-Slack-Request-Timestamp` is an integer
within five minutes and its `X-Slack-Signature` is `v0=` and the HMAC-SHA256 of
`v0:<timestamp>:<body>` under the signing secret. A refusal is logged in one line (route,
reason, size), never with the body, at most `LOG_BURST` lines per minute.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time

log = logging.getLogger(__name__)

#: Slack's replay window: older (or further future) timestamps are refused.
MAX_AGE = 5 * 60
#: At most this many refusal lines per minute; the rest are counted in the next line.
LOG_BURST = 10
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def refusal(timestamp: str | None, signature: str | None, body: bytes, secret: str,
            now: float | None = None) -> str | None:  # fmt: skip
    """Why the request is not Slack's, or None when its signature holds."""
    if not timestamp or not signature:
        return "missing X-Slack-Request-Timestamp or X-Slack-Signature"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "X-Slack-Request-Timestamp is not a whole number of seconds"
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE:
        return "X-Slack-Request-Timestamp is more than 5 minutes away (a replay?)"
    if not _SIGNATURE.fullmatch(signature):
        return "X-Slack-Signature is not v0= and 64 hex digits"
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "X-Slack-Signature does not match the body"
    return None


class RefusalLog:
    """One line per refusal, at most LOG_BURST a minute (a flood is summed up, not echoed)."""

    def __init__(self, clock: object = time.monotonic) -> None:
        self._clock = clock if callable(clock) else time.monotonic
        self._window = 0.0
        self._logged = 0
        self._quiet = 0

    def __call__(self, route: str, reason: str, size: int) -> None:
        now = self._clock()
        if now - self._window >= 60:
            if self._quiet:
                log.warning("%s: %d more refusals not logged in the last minute", route,
                            self._quiet)  # fmt: skip
            self._window, self._logged, self._quiet = now, 0, 0
        if self._logged >= LOG_BURST:
            self._quiet += 1
            return
        self._logged += 1
        log.warning("%s refused with 401: %s (%d bytes, body not logged)", route, reason, size)
