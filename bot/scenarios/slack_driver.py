"""Drives the bot the way Slack does: signed slash commands, button clicks, modal submissions
and Events API callbacks POSTed to `/slack/events`, shaped like Slack's documented payloads.
Replies go to the Slack stand-in (`bot.standins.slack`), which records them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from itertools import count
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.standins.slack import TEAM, SlackStandIn

SIGNING_SECRET = "scenario-signing-secret"
CHANNEL = "C0DEMO"


def signed_headers(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The `X-Slack-Signature` (v0 HMAC-SHA256 of `v0:timestamp:body`) and its timestamp."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


class SlackDriver:
    def __init__(
        self, http: httpx.AsyncClient, standin: SlackStandIn, secret: str = SIGNING_SECRET
    ):
        self.http, self.standin, self.secret = http, standin, secret
        self._n = count(1)

    async def post(self, body: str, content_type: str, *, timestamp: int | None = None,
                   secret: str | None = None) -> httpx.Response:  # fmt: skip
        headers = {
            "Content-Type": content_type,
            **signed_headers(body, secret or self.secret, timestamp),
        }
        return await self.http.post("/slack/events", content=body, headers=headers)

    async def command(
        self, text: str, user: str, channel: str = CHANNEL, **kw: Any
    ) -> httpx.Response:
        n = next(self._n)
        form = {
            "token": "legacy", "team_id": TEAM, "team_domain": "deploybot", "channel_id": channel,
            "channel_name": "deploys", "user_id": user, "user_name": user.lower(), "command": "/deploy",
            "text": text, "api_app_id": "A0DEPLOYBOT", "response_url": self.standin.response_url(f"cmd{n}"),
            "trigger_id": f"trigger-{n}",
        }  # fmt: skip
        return await self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)

    async def click(self, action: dict[str, Any], user: str, message: dict[str, Any] | None = None,
                    channel: str = CHANNEL, view: dict[str, Any] | None = None) -> httpx.Response:  # fmt: skip
        """Click `action` (a button from rendered blocks) in `message` (or in the App Home `view`)."""
        n = next(self._n)
        payload: dict[str, Any] = {
            "type": "block_actions", "team": {"id": TEAM, "domain": "deploybot"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A0DEPLOYBOT", "token": "legacy", "trigger_id": f"trigger-{n}",
            "response_url": self.standin.response_url(f"act{n}"),
            "actions": [{**action, "block_id": action.get("block_id", "b"), "action_ts": f"{time.time():.6f}"}],
        }  # fmt: skip
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id", "V0HOME")}
            payload["view"] = view
        else:
            message = message or {}
            ts = str(message.get("ts", "1700000000.000001"))
            payload["container"] = {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": channel, "name": "deploys"}
            payload["message"] = {"type": "message", "ts": ts, "text": message.get("text", ""),
                                  "blocks": message.get("blocks", [])}  # fmt: skip
        return await self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    async def submit(
        self, view: dict[str, Any], user: str, values: dict[str, Any]
    ) -> httpx.Response:
        """Submit a modal (`view`, as the bot opened it) with the input `values` filled in."""
        n = next(self._n)
        submitted = {**view, "id": f"V0MODAL{n}", "state": {"values": values}}
        payload = {
            "type": "view_submission", "team": {"id": TEAM, "domain": "deploybot"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A0DEPLOYBOT", "token": "legacy", "trigger_id": f"trigger-{n}", "view": submitted,
        }  # fmt: skip
        return await self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    async def event(self, event: dict[str, Any]) -> httpx.Response:
        body = {
            "token": "legacy", "team_id": TEAM, "api_app_id": "A0DEPLOYBOT", "event": event,
            "type": "event_callback", "event_id": f"Ev{next(self._n):08d}", "event_time": int(time.time()),
        }  # fmt: skip
        return await self.post(json.dumps(body), "application/json")

    async def open_home(self, user: str) -> httpx.Response:
        return await self.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
                                 "event_ts": f"{time.time():.6f}"})  # fmt: skip


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button in `blocks`, with its block id, in order."""
    found = []
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button":
                found.append({**element, "block_id": block.get("block_id", "")})
    return found
