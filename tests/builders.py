"""Builders with valid defaults: change one field per test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from bot.core.decision import StageSnapshot
from bot.core.model import (
    AfterRollback,
    Blocker,
    BlockerKind,
    Change,
    Deployment,
    DeploymentKind,
    DeploymentState,
    RollbackPolicy,
    StagePolicy,
    StageState,
)

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
_shas = count(1)


def sha(n: int) -> str:
    return f"{n:02x}" * 20


def change(n: int | None = None, **kw: object) -> Change:
    n = next(_shas) if n is None else n
    fields: dict[str, object] = {
        "sha": sha(n),
        "message": f"change {n}",
        "author": "ada",
        "workflow_id": f"wf-{n}",
        "ci_pipeline_id": f"ci-{n}",
        "created_at": T0 + timedelta(minutes=n),
    }
    fields.update(kw)
    return Change.model_validate(fields)


def policy(**kw: object) -> StagePolicy:
    fields: dict[str, object] = {
        "project": "shop",
        "stage": "prod",
        "promotion": "Deploy to prod",
        "rollback": RollbackPolicy.AUTO,
        "after_rollback": AfterRollback.CONTINUE,
        "bake": timedelta(minutes=30),
    }
    fields.update(kw)
    return StagePolicy.model_validate(fields)


def deployment(n: int, state: DeploymentState = DeploymentState.QUEUED, **kw: object) -> Deployment:
    fields: dict[str, object] = {
        "id": f"shop/prod/d{n}",
        "project": "shop",
        "stage": "prod",
        "kind": DeploymentKind.ROLLFORWARD,
        "change": change(n),
        "state": state,
        "source_pipeline_id": f"ci-{n}",
        "created_at": T0,
    }
    fields.update(kw)
    return Deployment.model_validate(fields)


def blocker(kind: BlockerKind = BlockerKind.MANUAL, **kw: object) -> Blocker:
    fields: dict[str, object] = {
        "id": f"b-{kind}",
        "kind": kind,
        "reason": "DB migration",
        "author": "U123",
        "created_at": T0,
    }
    fields.update(kw)
    return Blocker.model_validate(fields)


def snapshot(state: StageState | None = None, **kw: object) -> StageSnapshot:
    pol = kw.pop("policy", None) or policy()
    return StageSnapshot.model_validate({"policy": pol, "state": state or StageState(), **kw})
