"""Roles from configuration: user ids directly, user groups through usergroups.users.list
(cached), project roles replacing global ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.loader import load_config
from bot.slack.roles import Role, Roles

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "deploybot.yml"


class Groups:
    def __init__(self, members: dict[str, list[str]]) -> None:
        self.members = members
        self.calls = 0

    async def __call__(self, group: str) -> list[str]:
        self.calls += 1
        return self.members.get(group, [])


@pytest.mark.parametrize(
    ("user", "project", "role", "allowed"),
    [
        ("U024BE7LH", "shop", Role.BLOCK, True),  # named directly
        ("U0DEPLOYER", "shop", Role.BLOCK, True),  # member of S01DEPLOYERS
        ("U0STRANGER", "shop", Role.BLOCK, False),
        ("U0ONCALL", "shop", Role.APPROVE, True),  # member of S02ONCALL
        ("U0ONCALL", "billing", Role.APPROVE, False),  # billing's approvers replace the global ones
        ("U0BILLINGLEAD", "billing", Role.APPROVE, True),
        ("U024BE7LH", "shop", Role.EMERGENCY, False),
    ],
)
async def test_who_may_do_what(user: str, project: str, role: Role, allowed: bool) -> None:
    groups = Groups(
        {
            "S01DEPLOYERS": ["U0DEPLOYER"],
            "S02ONCALL": ["U0ONCALL"],
            "S04BILLINGLEADS": ["U0BILLINGLEAD"],
        }
    )
    assert await Roles(load_config(EXAMPLE), groups).allows(user, project, role) is allowed


async def test_group_membership_is_cached_for_a_short_while() -> None:
    now = [0.0]
    groups = Groups({"S01DEPLOYERS": ["U0DEPLOYER"]})
    roles = Roles(load_config(EXAMPLE), groups, clock=lambda: now[0])
    for _ in range(3):
        assert await roles.allows("U0DEPLOYER", "shop", Role.BLOCK)
    assert groups.calls == 1
    now[0] = 61.0
    await roles.allows("U0DEPLOYER", "shop", Role.BLOCK)
    assert groups.calls == 2
