"""What ships, read from the store (issue 16): the changes a deployment carries to its stage,
or takes away; for the change's message, a rollback's alert and `/deploy diff`."""

from __future__ import annotations

from bot.core.model import Change, Deployment, DeploymentKind, StageState
from bot.core.ships import SHOWN, Ships, last_good, window
from bot.store.base import Store


async def listed(
    store: Store,
    project: str,
    since: Change | None,
    head: Change,
    reverts: bool = False,
    limit: int = SHOWN,
) -> Ships:
    """The changes after `since` (all, when None) up to `head`: the newest `limit`, and a
    count."""
    after = since.created_at if since is not None else None
    changes, total = await store.changes(project, after, head.created_at, limit)
    return Ships(head=head, since=since, changes=tuple(changes), total=total, reverts=reverts)


async def deployment_ships(
    store: Store,
    project: str,
    deployment: Deployment,
    state: StageState,
    history: list[Deployment],
    limit: int = SHOWN,
) -> Ships | None:
    """What `deployment` carries to its stage (a rollback: takes away); None when nothing."""
    bounds = window(deployment, state, history)
    if bounds is None:
        return None
    reverts = deployment.kind is DeploymentKind.ROLLBACK
    return await listed(store, project, *bounds, reverts, limit)


async def stage_ships(
    store: Store, project: str, stage: str, sha: str | None
) -> tuple[Change | None, Ships | None]:
    """For `/deploy diff`: the change asked about (`sha`; else the one running or baking on the
    stage, else the newest queued, else the one live) and what it ships there. (None, None):
    nothing to speak of; (change, None): it ships nothing new."""
    state = await store.load(project, stage)
    if sha is not None:
        change = await store.find_change(project, sha)
        if change is None:
            return None, None
        good = last_good(state)
        since = good.change if good is not None else None
        if since is not None and since.created_at >= change.created_at:
            return change, None
        return change, await listed(store, project, since, change)
    on_its_way = [d for d in state.queue if d.kind is not DeploymentKind.ROLLBACK]
    deployment = state.current or (on_its_way[-1] if on_its_way else None)
    if deployment is not None:
        history = await store.history(project, stage, limit=20)
        return deployment.change, await deployment_ships(store, project, deployment, state, history)
    live = [d for d in state.good if d.change.sha not in state.bad]
    if not live:
        return None, None
    before = live[1].change if len(live) > 1 else None
    return live[0].change, await listed(store, project, before, live[0].change)
