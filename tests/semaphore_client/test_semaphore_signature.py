"""Webhook signature vectors: HMAC-SHA256 hex of the raw body, constant-time compared."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from semaphore_client import DecodeError, PipelineDoneEvent, sign_webhook, verify_webhook_signature

SECRET = "webhook-secret"
BODY = b'{"version":"1.0.0","pipeline":{"id":"p1","state":"done","result":"passed"}}'
KNOWN = hmac.new(b"webhook-secret", BODY, hashlib.sha256).hexdigest()


def test_published_hmac_sha256_vectors() -> None:
    fox = b"The quick brown fox jumps over the lazy dog"
    assert sign_webhook(fox, "key") == (
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )
    assert sign_webhook(b"", "key") == (
        "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0"
    )


@pytest.mark.parametrize("header", [KNOWN, KNOWN.upper(), f"sha256={KNOWN}", f" {KNOWN} "])
def test_right_secret_verifies(header: str) -> None:
    assert verify_webhook_signature(BODY, header, SECRET)


def test_wrong_secret_fails() -> None:
    assert not verify_webhook_signature(BODY, KNOWN, "another-secret")


def test_tampered_body_fails() -> None:
    assert not verify_webhook_signature(BODY.replace(b"passed", b"failed"), KNOWN, SECRET)


@pytest.mark.parametrize("header", ["", "sha256=", "not-hex", KNOWN[:-1]])
def test_malformed_signatures_fail(header: str) -> None:
    assert not verify_webhook_signature(BODY, header, SECRET)


def test_no_secret_never_verifies() -> None:
    assert not verify_webhook_signature(BODY, sign_webhook(BODY, ""), "")


def test_documented_payload_signed_and_parsed(reference_dir: Path) -> None:
    body = (reference_dir / "webhook-pipeline-done.json").read_bytes()
    signature = sign_webhook(body, SECRET)
    assert verify_webhook_signature(body, signature, SECRET)
    assert PipelineDoneEvent.from_body(body).pipeline.result == "stopped"


def test_malformed_payload_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        PipelineDoneEvent.from_body(b"{not json")
