"""Shared by the Slack tests: configurations, and a check that rendered dicts are valid Block Kit.

`valid_message` / `valid_view` run every block through slack_sdk's own models, whose
`to_dict()` raises on any limit Slack documents: an independent check of our builder layer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.config.models import DeploybotConfig

#: A Tuesday: 11:00 in Berlin, 05:00 in New York, 19:00 in Tokyo.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
INJECTION = "<!channel> see <https://evil.example|docs> & <@U999>"


def two_projects() -> DeploybotConfig:
    """`beta` and `prod` exist in both projects; `gamma` only in shop, `payments` only in
    billing (whose zone is Tokyo while billing's is New York)."""
    return DeploybotConfig.model_validate(
        {
            "roles": {"approve": ["U0APPROVER"]},
            "projects": [
                {
                    "name": "shop",
                    "channel": "C0SHOP",
                    "timezone": "Europe/Berlin",
                    "stages": [
                        {"name": "beta", "promotion": "Deploy beta"},
                        {"name": "gamma", "promotion": "Deploy gamma"},
                        {
                            "name": "prod",
                            "promotion": "Deploy prod",
                            "windows": ["mon-thu 09:00-16:00"],
                        },
                    ],
                },
                {
                    "name": "billing",
                    "channel": "C0BILL",
                    "timezone": "America/New_York",
                    "stages": [
                        {"name": "beta", "promotion": "Deploy beta"},
                        {
                            "name": "payments",
                            "promotion": "Deploy payments",
                            "timezone": "Asia/Tokyo",
                        },
                        {"name": "prod", "promotion": "Deploy prod"},
                    ],
                },
            ],
        }
    )


def one_project() -> DeploybotConfig:
    config = two_projects()
    return config.model_copy(update={"projects": config.projects[:1]})


def many_projects(projects: int = 10, stages: int = 5) -> DeploybotConfig:
    return DeploybotConfig.model_validate(
        {
            "roles": {},
            "projects": [
                {
                    "name": f"project-{p}",
                    "channel": "C0SHOP",
                    "timezone": "Europe/Berlin",
                    "stages": [
                        {
                            "name": f"stage-{s}",
                            "promotion": f"Deploy {s}",
                            "windows": ["mon 09:00-10:00"],
                        }
                        for s in range(stages)
                    ],
                }
                for p in range(projects)
            ],
        }
    )


def valid_message(rendered: dict[str, Any], limit: int = 50) -> dict[str, Any]:
    assert isinstance(rendered["text"], str) and rendered["text"]
    assert 1 <= len(rendered["blocks"]) <= limit
    for block in rendered["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.to_dict()
    return rendered


def valid_view(rendered: dict[str, Any]) -> dict[str, Any]:
    View(**rendered).to_dict()
    for block in rendered["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.to_dict()
    return rendered


def texts(rendered: dict[str, Any]) -> str:
    """Everything a person would read in the blocks, joined (for `in` assertions)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(rendered.get("blocks", []))
    return "\n".join(found)


def elements(rendered: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button in the rendered blocks, in order."""
    found = []
    for block in rendered["blocks"]:
        found += [e for e in block.get("elements", []) if e.get("type") == "button"]
        if block.get("accessory", {}).get("type") == "button":
            found.append(block["accessory"])
    return found
