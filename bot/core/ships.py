"""What a deployment ships (issue 16): the changes it carries to a stage, or, for a rollback,
the changes it takes away; and where the Git host compares them.

A roll-forward of `head` to a stage carries every change that passed CI on the deploy branch
after the stage's last good deployment (`since`), up to and including `head`, superseded ones
included. A rollback to `since` takes away the changes after it up to what the stage ran last.
"""

from __future__ import annotations

import re

from bot.core.model import Change, Deployment, DeploymentKind, Frozen, StageState

#: Changes a message lists by name; the rest are counted.
SHOWN = 10


class Ships(Frozen):
    head: Change
    #: The stage's last good change (the base of the comparison); None: nothing deployed yet.
    since: Change | None
    #: Newest first, at most SHOWN.
    changes: tuple[Change, ...]
    total: int
    #: A rollback: `changes` are taken away, back to `since`.
    reverts: bool = False


def last_good(state: StageState) -> Deployment | None:
    """The stage's newest good deployment of a change not found bad since."""
    return next((d for d in state.good if d.change.sha not in state.bad), None)


def window(
    deployment: Deployment, state: StageState, history: list[Deployment]
) -> tuple[Change | None, Change] | None:
    """(after, up to) of the changes `deployment` ships to its stage: for a roll-forward or an
    emergency, from the stage's last good change to its own; for a rollback, from its own
    (the target) to the newest change the stage ran since (None when it ran none)."""
    if deployment.kind is not DeploymentKind.ROLLBACK:
        good = last_good(state)
        since = good.change if good is not None else None
        if since is not None and since.created_at >= deployment.change.created_at:
            return None  # an older change than the stage's: nothing new ships
        return since, deployment.change
    ran = [d.change for d in (*state.good, *history) if d.kind is not DeploymentKind.ROLLBACK]
    newer = [c for c in ran if c.created_at > deployment.change.created_at]
    if not newer:
        return None
    return deployment.change, max(newer, key=lambda c: c.created_at)


_HOSTS = {"github.com": "github", "gitlab.com": "gitlab", "bitbucket.org": "bitbucket"}
_URL = re.compile(
    r"^(?:https?://(?:[^@/]+@)?(?P<host>[^/:]+)/|git@(?P<ssh>[^:]+):|ssh://git@(?P<sshurl>[^/]+)/)"
    r"(?P<path>[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)+)/?$"
)


def compare_url(repository_url: str, base: str, head: str) -> str | None:
    """The Git host's page comparing `base` with `head`, for GitHub, GitLab and Bitbucket
    (each has its own form); None for any other host or an unreadable address."""
    found = _URL.match(repository_url.strip())
    if found is None:
        return None
    host = (found["host"] or found["ssh"] or found["sshurl"] or "").lower()
    kind, path = _HOSTS.get(host), found["path"].removesuffix(".git")
    if kind == "github":
        return f"https://github.com/{path}/compare/{base}...{head}"
    if kind == "gitlab":
        return f"https://gitlab.com/{path}/-/compare/{base}...{head}"
    if kind == "bitbucket":
        return f"https://bitbucket.org/{path}/branches/compare/{head}%0D{base}"
    return None
