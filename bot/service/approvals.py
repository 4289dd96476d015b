"""Approvals (issue 16): who may approve what a roll-forward ships, checked before the rules
see the approval (they check the rest: waiting, distinct people).

    awaiting(state, sha=None)                 the roll-forward waiting for approval (of `sha`)
    author_refusal(config, store, project, stage, deployment, by)
                                              why `by` may not approve it, or None
"""

from __future__ import annotations

from bot.config.models import DeploybotConfig
from bot.core.model import Deployment, DeploymentKind, StageState
from bot.service.ships import deployment_ships
from bot.store.base import CHANGES_LIMIT, Store


def awaiting(state: StageState, sha: str | None = None) -> Deployment | None:
    """The queued roll-forward that is waiting for approval (its wait began), of `sha` when
    given (a prefix)."""
    for deployment in state.queue:
        if deployment.kind is not DeploymentKind.ROLLFORWARD or deployment.approval_until is None:
            continue
        if sha is None or deployment.change.sha.startswith(sha.lower()):
            return deployment
    return None


async def author_refusal(
    config: DeploybotConfig, store: Store, project: str, stage: str, deployment: Deployment, by: str
) -> str | None:
    """Why `by` may not approve `deployment` on a stage whose gate keeps authors out: they
    wrote one of the changes it ships, or deploybot cannot tell (no `authors` entry)."""
    gate = config.project(project).stage(stage).approval
    if gate is None or gate.allow_author:
        return None
    names = {name.lower() for name in config.authors.get(by, ())}
    if not names:
        return (
            f"deploybot cannot tell whether you wrote any of the changes this ships: {stage} "
            "needs approval from someone who did not, and your Slack id has no `authors:` "
            "entry (the names your commits carry) in deploybot's configuration"
        )
    state = await store.load(project, stage)
    history = await store.history(project, stage, limit=20)
    ships = await deployment_ships(store, project, deployment, state, history, CHANGES_LIMIT)
    carried = ships.changes if ships is not None else (deployment.change,)
    mine = [change for change in carried if change.author.lower() in names]
    if mine:
        shas = ", ".join(f"`{change.sha[:7]}`" for change in mine)
        return (
            f"you wrote {shas}, which this deployment ships; {stage} needs approval from "
            "people who did not write its changes"
        )
    return None
