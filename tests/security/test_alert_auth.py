"""Alertmanager's route on a real `deploybot serve`: an anonymous or wrongly authenticated
alert is refused with 401, records nothing, blocks nothing and leaves its body out of the log;
Alertmanager's own forms (bearer, basic auth with the token as password) are accepted."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest

from tests.faults.support import ALERTMANAGER_TOKEN

pytestmark = [pytest.mark.faults, pytest.mark.redis]

ROUTE = "/alerts/alertmanager"
MARKER = "forged-alert-body-marker"


def alert(status: str = "firing", summary: str = MARKER) -> dict[str, Any]:
    return {
        "version": "4",
        "status": status,
        "receiver": "deploybot",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "Errors", "deploybot_project": "demo",
                           "deploybot_stage": "prod"},
                "annotations": {"summary": summary},
                "startsAt": "2026-12-05T09:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "00000000000000aa",
            }
        ],
    }  # fmt: skip


def basic(password: str, user: str = "alertmanager") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", basic("wrong-token"), "Bearer", "Token " + ALERTMANAGER_TOKEN],
    ids=["anonymous", "wrong-bearer", "wrong-basic", "empty-bearer", "other-scheme"],
)
async def test_an_alert_without_the_token_is_refused_and_changes_nothing(
    bot: Any, authorization: str | None
) -> None:
    r, process, slack = bot
    http: httpx.AsyncClient = slack.http
    headers = {"Authorization": authorization} if authorization is not None else {}
    answer = await http.post(ROUTE, json=alert(), headers=headers)
    assert answer.status_code == 401
    await asyncio.sleep(0.5)  # time to act on it, were it taken
    prod = await r.watch.store.load("demo", "prod")
    assert prod.blockers == () and prod.version == 0
    assert MARKER not in process.output() and "Traceback" not in process.output()


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {ALERTMANAGER_TOKEN}", basic(ALERTMANAGER_TOKEN)],
    ids=["bearer", "basic"],
)
async def test_an_alert_with_the_token_blocks_the_stage(bot: Any, authorization: str) -> None:
    r, process, slack = bot
    http: httpx.AsyncClient = slack.http
    answer = await http.post(ROUTE, json=alert(), headers={"Authorization": authorization})
    assert answer.status_code in (200, 202)

    async def blocked() -> bool:
        prod = await r.watch.store.load("demo", "prod")
        return any(b.kind == "alarm" and "Errors" in b.reason for b in prod.blockers)

    for _ in range(100):
        if await blocked():
            break
        await asyncio.sleep(0.1)
    assert await blocked()
    assert "Traceback" not in process.output()
