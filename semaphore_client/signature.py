"""Webhook signatures: ``X-Semaphore-Signature-256`` is HMAC-SHA256 of the raw body.

Semaphore sends lower-case hex with no prefix. A ``sha256=`` prefix (GitHub's style, used by
some proxies) and upper-case hex are accepted too; the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Semaphore-Signature-256"


def sign_webhook(body: bytes, secret: str) -> str:
    """The signature Semaphore puts in ``X-Semaphore-Signature-256`` for ``body``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_webhook_signature(body: bytes, signature: str, secret: str) -> bool:
    """True when ``signature`` is the HMAC-SHA256 of ``body`` under ``secret``."""
    if not secret or not signature:
        return False
    given = signature.strip()
    if given[:7].lower() == "sha256=":
        given = given[7:]
    expected = sign_webhook(body, secret)
    return hmac.compare_digest(expected.encode(), given.lower().encode())
