"""Who may do what, from configuration: Slack user ids (`U…`, `W…`) and user group ids (`S…`).
A group's members are read with `usergroups.users.list` and cached for a short while."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from enum import StrEnum

from bot.config.models import DeploybotConfig

GroupMembers = Callable[[str], Awaitable[list[str]]]
CACHE_SECONDS = 60.0


class Role(StrEnum):
    BLOCK = "block"
    APPROVE = "approve"
    EMERGENCY = "emergency"


#: What each role lets a person do, for refusals ("you need the approve role to ...").
DOES = {
    Role.BLOCK: "block or unblock stages and schedule freezes",
    Role.APPROVE: "approve or dismiss rollbacks and roll stages back",
    Role.EMERGENCY: "run emergency deployments and reset stages",
}


class Roles:
    def __init__(
        self,
        config: DeploybotConfig,
        members: GroupMembers,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._members = members
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    def principals(self, project: str, role: Role) -> list[str]:
        roles = self.config.roles_for(project)
        return list(getattr(roles, role.value))

    async def allows(self, user: str, project: str, role: Role) -> bool:
        principals = self.principals(project, role)
        if user in principals:
            return True
        for group in (p for p in principals if p.startswith("S")):
            if user in await self._group(group):
                return True
        return False

    async def _group(self, group: str) -> frozenset[str]:
        cached = self._cache.get(group)
        now = self._clock()
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        members = frozenset(await self._members(group))
        self._cache[group] = (now, members)
        return members
