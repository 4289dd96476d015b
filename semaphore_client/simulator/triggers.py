"""A promotion trigger between Gofer accepting it and Plumber scheduling its pipeline.

``POST /promotions`` only records a trigger; Gofer schedules it later, and may give up:

    without a deployment target    row `processing` ──(delay)──> `passed` + pipeline id
                                                    └─(deadline)─> `failed` ("Deadline reached")
    with one                       history PENDING, no row
                                     ──(delay/2)──> target re-checked: cordoned -> FAILED
                                                    `cordoned_target`, and no row ever
                                     ──> row `processing` ──(delay/2)──> as above; history
                                         STARTED + pipeline id, or FAILED with the reason
                                   a trigger stuck before its row exists fails after
                                   `target_deadline`: FAILED `deadline_reached`, no row

Plumber refuses to schedule into a queue holding `QUEUE_LIMIT` pending, queuing or running
pipelines ("Limit of queuing pipelines reached"); Gofer tries again until its deadline.
(ee/gofer target_trigger_process.ex, deployment_trigger/engine/worker.ex; plumber
schedule_limit.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from semaphore_client.simulator.records import SimDeployment, SimPipeline, SimPromotion, SimTarget
from semaphore_client.simulator.world import PromotionDef

#: Plumber's default `PPL_QUEUE_LIMIT`: pending, queuing and running pipelines per queue.
QUEUE_LIMIT = 30
DEADLINE_REACHED = "Deadline reached"
Fate = Literal["deadline", "queue_limit"]


@dataclass(frozen=True)
class GoferTimes:
    """How long Gofer takes to schedule a trigger, and when it gives up (seconds of the
    simulator's clock)."""

    #: From accepted to scheduled (a fraction of a second keeps the demo quick).
    delay: float = 0.2
    #: A target trigger not scheduled this long after it was triggered fails (Gofer: 40 s).
    deadline: float = 40.0
    #: A deployment-target trigger that makes no progress for this long fails (Gofer: 60 s).
    target_deadline: float = 60.0

    def __post_init__(self) -> None:
        if min(self.delay, self.deadline, self.target_deadline) < 0:
            raise ValueError("Gofer's delay and deadlines must not be negative")

    @property
    def retry(self) -> float:
        """How soon a scheduling refused by a full queue is tried again."""
        return max(self.delay, 0.05)


@dataclass
class Trigger:
    """One accepted trigger of a promotion, until it is scheduled or given up."""

    source: SimPipeline
    definition: PromotionDef
    target: SimTarget | None
    triggered_by: str
    override: bool
    values: dict[str, str]
    request_token: str
    triggered_at: float
    #: Scripted: Gofer never gets to it (`deadline`) or Plumber's queue refuses it.
    fate: Fate | None = None
    #: The promotions-list row, once there is one.
    row: SimPromotion | None = None
    #: The deployment-history entry (deployment-target promotions only).
    entry: SimDeployment | None = None
    #: Plumber refused it for a full queue at least once.
    refused: bool = False
    done: bool = False
