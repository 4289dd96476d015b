"""Effects: what a decision asks the outside world to do, as stored in a stage's outbox.

An effect is written in the same atomic step as the decision, so a crash between the two
never loses it; it is removed from the outbox only after it has been carried out.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from bot.core.decision import Decision, Notice, Onward, Recall
from bot.core.model import Deployment, Frozen


class _Effect(Frozen):
    #: Unique and deterministic: `<event id>#<n>`.
    id: str
    project: str
    stage: str


class StartDeployment(_Effect):
    type: Literal["start"] = "start"
    deployment: Deployment


class StopDeployment(_Effect):
    type: Literal["stop"] = "stop"
    deployment: Deployment


class SendOnward(_Effect):
    type: Literal["onward"] = "onward"
    onward: Onward


class SendRecall(_Effect):
    """A change failed on this stage after it went onward: every later stage holds it."""

    type: Literal["recall"] = "recall"
    recall: Recall


class SendWave(_Effect):
    """A roll-forward failed on this target of a wave: the other targets hear of it."""

    type: Literal["wave"] = "wave"
    failure: Recall


class SetTargetActive(_Effect):
    """`enforce: true`: activate or deactivate the stage's Semaphore deployment target."""

    type: Literal["target"] = "target"
    active: bool


class Tell(_Effect):
    type: Literal["tell"] = "tell"
    notice: Notice


Effect = Annotated[
    StartDeployment | StopDeployment | SetTargetActive | SendOnward | SendRecall | SendWave | Tell,
    Field(discriminator="type"),
]
EFFECT = TypeAdapter[Effect](Effect)


def effects_of(decision: Decision, event_id: str, project: str, stage: str) -> list[Effect]:
    """The effects of a decision, in the order they are carried out."""
    effects: list[Effect] = []

    def next_id() -> str:
        return f"{event_id}#{len(effects)}"

    if decision.target_active is True:  # activate before a deployment starts
        effects.append(SetTargetActive(id=next_id(), project=project, stage=stage, active=True))
    for deployment in decision.stop:
        effects.append(
            StopDeployment(id=next_id(), project=project, stage=stage, deployment=deployment)
        )
    if decision.start is not None:
        effects.append(
            StartDeployment(id=next_id(), project=project, stage=stage, deployment=decision.start)
        )
    if decision.target_active is False:
        effects.append(SetTargetActive(id=next_id(), project=project, stage=stage, active=False))
    if decision.onward is not None:
        effects.append(
            SendOnward(id=next_id(), project=project, stage=stage, onward=decision.onward)
        )
    if decision.recall is not None:
        effects.append(
            SendRecall(id=next_id(), project=project, stage=stage, recall=decision.recall)
        )
    if decision.wave_failure is not None:
        effects.append(
            SendWave(id=next_id(), project=project, stage=stage, failure=decision.wave_failure)
        )
    for notice in decision.notices:
        effects.append(Tell(id=next_id(), project=project, stage=stage, notice=notice))
    return effects


def encode(effect: Effect) -> str:
    return EFFECT.dump_json(effect).decode()


def decode(raw: str) -> Effect:
    return EFFECT.validate_json(raw)
