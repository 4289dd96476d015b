"""One seeded random run: a plan of what people, Semaphore and the network do, played against
the simulator (over HTTP), a real redis-server and the real bot; then the run is settled and
everything it did is handed to the invariants (tests/system/invariants.py).

The plan depends on the seed alone (`plan(seed)` prints the same steps every time); what the
bot does with it depends on timing too, so a failure prints the plan, what each step did, and
Semaphore's events, which is what it takes to find the fault again.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.model import DeploymentKind, DeploymentState
from bot.errors import DeploybotError
from bot.lifecycle import end_tasks, reraise_lost_cancellation
from bot.scenarios.harness import Harness
from bot.scenarios.record import commit_sha
from semaphore_client import SemaphoreClient
from tests.system.world import CI_FILE, NIGHTLY_FILE, PROJECT, START_TIMEOUT, Topology

#: How long the settling may take: the last push goes through every stage (1 s bake each).
SETTLE_TIMEOUT = 45.0


@dataclass(frozen=True)
class Step:
    """Wait `delay` seconds, then do `action` with `args`."""

    delay: float
    action: str
    args: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"+{self.delay:.2f}s {self.action} {' '.join(self.args)}".rstrip()


# (action, weight): what a random step does.
ACTIONS = (
    ("push", 26),
    ("push-ci-fails", 4),
    ("push-deploy-fails", 8),
    ("push-tag", 5),
    ("push-pull-request", 5),
    ("push-nightly", 3),
    ("push-never-scheduled", 4),
    ("alarm-fire", 5),
    ("alarm-resolve", 5),
    ("block", 4),
    ("unblock", 4),
    ("emergency", 4),
    ("rollback", 3),
    ("deactivate-target", 2),
    ("activate-target", 3),
    ("restart", 3),
    ("pause", 6),
)


def plan(seed: int, topology: Topology, steps: int = 20) -> list[Step]:
    """The random steps of run `seed` on `topology`: the same list for the same seed."""
    rng = random.Random(seed)
    names, weights = zip(*ACTIONS, strict=True)
    found: list[Step] = []
    pushed: list[str] = []  # good main commits so far
    for number in range(steps):
        action = rng.choices(names, weights)[0]
        delay = round(rng.uniform(0.05, 0.5), 2)
        stage = rng.choice(topology.stages)
        label = f"c{number}"
        args: tuple[str, ...]
        if action in ("push", "push-ci-fails", "push-tag", "push-pull-request", "push-nightly"):
            args = (label,)
        elif action in ("push-deploy-fails", "push-never-scheduled"):
            args = (label, stage)
        elif action == "emergency":
            if not pushed:
                action, args = "push", (label,)
            else:
                args = (rng.choice(pushed), stage)
        elif action == "pause":
            delay, args = round(rng.uniform(0.5, 1.5), 2), ()
        elif action == "restart":
            args = ()
        else:
            args = (stage,)
        if action in ("push", "push-deploy-fails", "push-never-scheduled"):
            pushed.append(label)
        found.append(Step(delay, action, args))
    return found


@dataclass
class Run:
    """Plays a plan against a harness and keeps a timeline of what happened."""

    seed: int
    harness: Harness
    topology: Topology
    started: float = field(default_factory=time.monotonic)
    timeline: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    firing: dict[str, datetime] = field(default_factory=dict)
    cordoned: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    #: The step under way, if one is (a run that hangs says where).
    doing: str = ""
    #: Deployments seen RUNNING without a pipeline: id -> (monotonic first seen, stage).
    _unpiped: dict[str, tuple[float, str]] = field(default_factory=dict)

    def sha(self, label: str) -> str:
        sha = commit_sha(f"seed{self.seed}-{label}")
        self.labels[sha] = label
        return sha

    def note(self, text: str) -> None:
        self.timeline.append(f"{time.monotonic() - self.started:7.2f}s  {text}")

    async def network(self) -> None:
        """Semaphore's webhooks to the bot: some dropped, some twice, out of order (kept
        across the bot's restarts)."""
        self.harness.webhook_chaos = {"drop": 0.15, "duplicate": 0.15, "reorder": True,
                                      "seed": self.seed}  # fmt: skip
        await self.harness.configure_webhook()

    # -- the random phase -----------------------------------------------------------------

    async def play(self, steps: list[Step]) -> None:
        await self.network()
        watch = asyncio.create_task(self._watch())
        try:
            for step in steps:
                await asyncio.sleep(step.delay)
                self.doing = f"{step.action} {' '.join(step.args)}".rstrip()
                self.note(f"{self.doing}: {await self._do(step)}")
                self.doing = ""
        finally:
            # redis-py can lose a cancellation (bot.lifecycle): cancel until it ends.
            await end_tasks([watch], "the system test's watch", within=5.0)

    async def _do(self, step: Step) -> str:
        h = self.harness
        action, args = step.action, step.args
        if action == "push":
            await h.push(self.sha(args[0]), args[0])
            return "pushed to main"
        if action == "push-ci-fails":
            await h.script(pipeline_file=CI_FILE, commit_sha=self.sha(args[0]), result="failed")
            await h.push(self.sha(args[0]), args[0])
            return "pushed to main; its CI fails"
        if action == "push-deploy-fails":
            label, stage = args
            await h.script(pipeline_file=self.topology.deploy_file(stage),
                           commit_sha=self.sha(label), result="failed")  # fmt: skip
            await h.push(self.sha(label), label)
            return f"pushed to main; its deploy to {stage} fails"
        if action == "push-never-scheduled":
            label, stage = args
            promotion = self.topology.promotions[stage]
            await h.script(promotion=promotion, commit_sha=self.sha(label),
                           never_scheduled="deadline")  # fmt: skip
            await h.push(self.sha(label), label)
            return f"pushed to main; Semaphore never schedules its promotion to {stage}"
        if action == "push-tag":
            await h.push(self.sha(args[0]), args[0], branch="", tag=f"v{args[0]}")
            return "tag build"
        if action == "push-pull-request":
            await h.push(self.sha(args[0]), args[0], branch="feature", pull_request=7)
            return "pull-request build"
        if action == "push-nightly":
            await h.push(self.sha(args[0]), args[0], pipeline_file=NIGHTLY_FILE,
                         triggered_by="schedule")  # fmt: skip
            return "nightly pipeline on main (not CI)"
        if action == "alarm-fire":
            return await self._alarm(args[0], firing=True)
        if action == "alarm-resolve":
            return await self._alarm(args[0], firing=False)
        if action == "block":
            await h.runtime.orchestrator.block(PROJECT, args[0], "U0BLOCK", "system test")
            return "blocked by a person"
        if action == "unblock":
            return await self._unblock(args[0], manual_only=True)
        if action == "emergency":
            label, stage = args
            try:
                decision = await h.runtime.orchestrator.emergency(
                    PROJECT, stage, self.sha(label), "U0EMERGENCY", "system test"
                )
            except DeploybotError as refused:
                return f"refused: {refused}"
            return "accepted" if decision is not None else "refused: no passed CI pipeline"
        if action == "rollback":
            decision = await h.runtime.orchestrator.rollback(PROJECT, args[0], "U0APPROVE",
                                                             "system test")  # fmt: skip
            return "asked" if decision is not None else "nothing done"
        if action in ("deactivate-target", "activate-target"):
            return await self._target(args[0], active=action == "activate-target")
        if action == "restart":
            await h.restart()
            return "the bot is killed and started again"
        return "nothing happens"

    async def _alarm(self, stage: str, *, firing: bool) -> str:
        now = datetime.now(UTC)
        if not firing and stage not in self.firing:
            return "no alarm firing there"
        began = self.firing.get(stage, now)
        if firing:
            self.firing.setdefault(stage, now)
        else:
            del self.firing[stage]
        answer = await self.harness.alert(alert(stage, began, None if firing else now))
        return f"Alertmanager posts, the bot answers {answer.status_code}"

    async def _unblock(self, stage: str, *, manual_only: bool) -> str:
        orchestrator = self.harness.runtime.orchestrator
        state = await self.harness.store.load(PROJECT, stage)
        lifted = []
        for blocker in state.blockers:
            if manual_only and blocker.author != "U0BLOCK":
                continue
            await orchestrator.unblock(PROJECT, stage, "U0BLOCK", blocker.id)
            lifted.append(f"{blocker.kind}:{blocker.id}")
        return f"lifted {', '.join(lifted)}" if lifted else "no blocker to lift"

    async def _target(self, stage: str, *, active: bool) -> str:
        sim = self.harness.sim
        async with SemaphoreClient(token="a-person", base_url=sim.base_url) as client:
            project = await client.describe_project(PROJECT)
            name = self.topology.promotions[stage]  # also its deployment target's name
            target = await client.find_deployment_target(project.id, name)
            assert target is not None
            if active:
                await client.activate_deployment_target(target.id)
                self.cordoned.discard(stage)
            else:
                await client.deactivate_deployment_target(target.id)
                self.cordoned.add(stage)
        return f"a person {'activates' if active else 'deactivates'} the target in Semaphore"

    async def _watch(self) -> None:
        """Invariant 6 while the run goes on: no deployment stays RUNNING without a pipeline
        longer than `start_timeout` (plus a reconciliation and some slack)."""
        allowed = START_TIMEOUT + 4.0
        while True:
            await asyncio.sleep(0.25)
            for stage in self.topology.stages:
                current = (await self.harness.store.load(PROJECT, stage)).current
                reraise_lost_cancellation()
                if current is None or current.state is not DeploymentState.RUNNING:
                    continue
                if current.deploy_pipeline_id:
                    continue
                seen, _ = self._unpiped.setdefault(current.id, (time.monotonic(), stage))
                if time.monotonic() - seen > allowed:
                    problem = (f"{current.id} has been RUNNING on {stage} without a pipeline "
                               f"for more than {allowed:g}s")  # fmt: skip
                    if problem not in self.problems:
                        self.problems.append(problem)

    # -- settling -------------------------------------------------------------------------

    async def settle(self) -> str:
        """End every hold (alarms resolved, targets active, blockers lifted), push one last
        good commit, and wait until every stage runs it. Returns its sha."""
        for stage in list(self.firing):
            self.note(f"settle: alarm-resolve {stage}: {await self._alarm(stage, firing=False)}")
        for stage in sorted(self.cordoned):
            self.note(f"settle: activate-target {stage}: {await self._target(stage, active=True)}")
        final = self.sha("final")
        await self.harness.push(final, "final")
        self.note("settle: push final")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT
        while not await self._final_everywhere(final):
            if loop.time() > deadline:
                states = await self.harness.runtime.orchestrator.states(PROJECT)
                for stage, state in states.items():
                    self.note(f"settle: {stage} is {describe(state)}")
                raise TimeoutError(f"the final commit was not on every stage within "
                                   f"{SETTLE_TIMEOUT:g}s")  # fmt: skip
            for stage in self.topology.stages:  # whatever holds a stage now is lifted
                outcome = await self._unblock(stage, manual_only=False)
                if outcome != "no blocker to lift":
                    self.note(f"settle: unblock {stage}: {outcome}")
            await asyncio.sleep(0.5)
        await self._quiet()
        self.note("settle: every stage runs final; nothing is running")
        return final

    async def _final_everywhere(self, sha: str) -> bool:
        for stage in self.topology.stages:
            if not await self.harness.deployed(stage, sha):
                return False
        return True

    async def _quiet(self) -> None:
        """Until no pipeline runs in Semaphore and no deployment in deploybot."""
        for _ in range(200):
            running = {}
            for event in await self.harness.sim_events("pipeline"):
                running[event["pipeline_id"]] = event["state"] != "done"
            states = await self.harness.runtime.orchestrator.states(PROJECT)
            busy = [s for s in states.values() if s.current is not None]
            if not any(running.values()) and not busy:
                return
            await asyncio.sleep(0.1)

    async def emergencies(self) -> list[str]:
        """The pipelines of every emergency deployment the bot ran."""
        found = []
        for deployments in (await self.harness.histories()).values():
            for deployment in deployments:
                if deployment.kind is DeploymentKind.EMERGENCY and deployment.deploy_pipeline_id:
                    found.append(deployment.deploy_pipeline_id)
        return found


def describe(state: Any) -> str:
    current = state.current
    now = "idle"
    if current is not None:
        pipeline = current.deploy_pipeline_id[:8] or "no pipeline"
        now = (f"running {current.kind} {current.id} of {current.change.sha[:7]} ({current.state}, "
               f"{pipeline}, attempt {current.attempt}, started {current.started_at})")  # fmt: skip
    if state.stopping:
        now += "; stopping " + ", ".join(
            f"{d.id} ({d.deploy_pipeline_id[:8]})" for d in state.stopping
        )
    queue = ", ".join(d.change.sha[:7] for d in state.queue) or "nothing"
    blockers = ", ".join(f"{b.kind}:{b.id}" for b in state.blockers) or "none"
    return f"{now}; queued {queue}; blockers {blockers}"


def alert(stage: str, starts: datetime, ends: datetime | None) -> dict[str, Any]:
    """An Alertmanager (v4) webhook for one alert on `stage`: firing without `ends`."""
    labels = {"alertname": f"Errors{stage.title()}", "severity": "page",
              "deploybot_project": PROJECT, "deploybot_stage": stage}  # fmt: skip
    status = "firing" if ends is None else "resolved"
    at = (ends or starts + timedelta(0)).isoformat() if ends else "0001-01-01T00:00:00Z"
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="Errors{stage.title()}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "deploybot",
        "groupLabels": {"alertname": labels["alertname"]},
        "commonLabels": labels,
        "commonAnnotations": {"summary": f"errors on {stage}"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {"summary": f"errors on {stage}"},
                "startsAt": starts.isoformat(),
                "endsAt": at,
                "generatorURL": "http://prometheus.example:9090/graph",
                "fingerprint": f"{stage:0<16}"[:16],
            }
        ],
    }
