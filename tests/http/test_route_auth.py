"""Alertmanager's webhook and /metrics are authenticated by a shared token: a forged alert is
refused before anything is recorded, and without the token configured the route is closed."""

from __future__ import annotations

import base64
import json
import logging

import httpx
import pytest

from bot.http import HttpDeps
from tests.http.conftest import ALERT_TOKEN, Serve
from tests.http.test_alertmanager_route import ROUTE, notification


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {ALERT_TOKEN}"},
        {"Authorization": f"bearer {ALERT_TOKEN}"},
        basic("alertmanager", ALERT_TOKEN),
        basic("", ALERT_TOKEN),
    ],
    ids=["bearer", "bearer-lowercase", "basic", "basic-no-user"],
)
async def test_alertmanager_with_the_token_is_recorded(
    serve: Serve, deps: HttpDeps, headers: dict[str, str]
) -> None:
    http = await serve()
    answer = await http.post(ROUTE, json=notification(), headers=headers)
    assert (answer.status_code, answer.json()) == (200, {"status": "recorded"})
    assert await deps.inbox.length() == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing credentials"),
        ({"Authorization": "Bearer guessed"}, "do not match ALERTMANAGER_TOKEN"),
        ({"Authorization": f"Bearer {ALERT_TOKEN}x"}, "do not match"),
        ({"Authorization": f"Token {ALERT_TOKEN}"}, "missing credentials"),
        ({"Authorization": "Bearer"}, "missing credentials"),
        (basic(ALERT_TOKEN, "wrong"), "do not match"),  # the token as the user name is not it
        ({"Authorization": "Basic !!not-base64!!"}, "missing credentials"),
    ],
    ids=["none", "wrong", "longer", "other-scheme", "empty", "basic-wrong", "basic-garbage"],
)
async def test_alertmanager_without_the_right_token_is_refused_and_nothing_recorded(
    serve: Serve,
    deps: HttpDeps,
    headers: dict[str, str],
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    http = await serve()
    body = json.dumps(notification(summary="SECRET-BODY-MARKER"))
    with caplog.at_level(logging.WARNING):
        answer = await http.post(ROUTE, content=body, headers=headers)
    assert answer.status_code == 401
    assert reason in answer.json()["error"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert await deps.inbox.length() == 0
    logged = caplog.text
    assert "refused with 401" in logged
    assert "SECRET-BODY-MARKER" not in logged and ALERT_TOKEN not in logged
    assert "guessed" not in logged  # the presented credentials are not logged either


async def test_alertmanager_without_a_configured_token_answers_503_and_records_nothing(
    serve: Serve, deps: HttpDeps
) -> None:
    http = await serve(alertmanager_token=None)
    answer = await http.post(
        ROUTE, json=notification(), headers={"Authorization": f"Bearer {ALERT_TOKEN}"}
    )
    assert answer.status_code == 503
    assert "ALERTMANAGER_TOKEN is not configured" in answer.json()["error"]
    assert await deps.inbox.length() == 0


async def test_metrics_is_open_without_metrics_token(serve: Serve) -> None:
    http = await serve()
    assert (await http.get("/metrics")).status_code == 200


async def test_metrics_needs_the_bearer_token_when_metrics_token_is_set(serve: Serve) -> None:
    http: httpx.AsyncClient = await serve(metrics_token="scrape-token")
    refused = await http.get("/metrics")
    assert refused.status_code == 401 and "missing credentials" in refused.json()["error"]
    wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = await http.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
    assert ok.status_code == 200 and "deploybot_" in ok.text
    assert (await http.get("/healthz")).status_code == 200  # health stays open for probes
