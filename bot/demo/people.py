"""The people of the demo: one for each role in the configuration, and one with none.

Names are given in order (alice, bob, carol, ...) to the first Slack user id (`U…`/`W…`) of
each role, then to the others with a role (erin: the second approver, for two-person
approval); a user group (`S…`) has no face in the demo. `dave` holds no role, to show the
refusals."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.models import DeploybotConfig

NAMES = ("alice", "bob", "carol", "erin", "frank")
NOBODY = ("dave", "U0NOROLE")
ROLES = ("block", "approve", "emergency")
#: Words people may use for a role in `as ...`.
ROLE_WORDS = {"blocker": "block", "approver": "approve", "emergency": "emergency",
              "block": "block", "approve": "approve"}  # fmt: skip


@dataclass(frozen=True)
class Person:
    name: str
    user: str
    roles: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.name} ({', '.join(self.roles) or 'no role'})"


def people(config: DeploybotConfig) -> list[Person]:
    """The demo's people: the global roles' first users, then `dave` with no role."""
    users: list[str] = []
    for role in ROLES:
        ids = [u for u in getattr(config.roles, role) if u[:1] in ("U", "W")]
        if ids and ids[0] not in users:
            users.append(ids[0])
    for role in ROLES:  # then everyone else with a role (erin: a second approver)
        users += [u for u in getattr(config.roles, role) if u[:1] in ("U", "W") and u not in users]
    found = [
        Person(name, user, tuple(r for r in ROLES if user in getattr(config.roles, r)))
        for name, user in zip(NAMES, users, strict=False)
    ]
    return [*found, Person(NOBODY[0], NOBODY[1], ())]


def find(everyone: list[Person], word: str) -> Person | None:
    """A person by name, Slack user id, or role (`approver`: the first who may approve)."""
    lowered = word.lower().lstrip("@")
    for person in everyone:
        if lowered in (person.name, person.user.lower()):
            return person
    role = ROLE_WORDS.get(lowered)
    return next((p for p in everyone if role in p.roles), None) if role else None
