"""Issue 18's `waves` (commits `A`, `B`): beta, then prod in two waves, the way Amazon's
pipelines deploy production: `prod-wave-1` (us-east-1, eu-west-1), then `prod-wave-2`
(us-west-2, ap-south-1, sa-east-1), each wave's targets in parallel.

With deploybot: A deploys to the targets of each wave at once and goes on to wave 2 only once
both wave-1 targets baked it (eu-west-1, slower, holds wave 2 back); wave 2's three deploy pipelines run at the same time. B fails on
ap-south-1: ap-south-1 rolls back to A, and so do the other two (`rollback: {scope: wave}`).

On Semaphore alone (`--without-bot`, every promotion automatic): nothing gates a wave. B's
deploy to eu-west-1 fails, yet us-east-1's automatic promotion carries B on to us-west-2, and
sa-east-1 (promoted from CI) has B before wave 1 is even done; nothing rolls back.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import yaml

from bot.core.model import DeploymentKind
from bot.scenarios.play import Play
from bot.scenarios.worlds import PASSED_ON_MAIN
from semaphore_client.simulator import World, parse_world

WAVE_1 = ("us-east-1", "eu-west-1")
WAVE_2 = ("us-west-2", "ap-south-1", "sa-east-1")
#: What each wave-2 target hangs off: a wave-1 target's deploy pipeline, or CI.
HANGS_OFF = {"us-west-2": "us-east-1", "ap-south-1": "eu-west-1", "sa-east-1": "ci"}
#: How long each wave-2 deploy runs: long enough that running "at the same time" shows.
WAVE_2_SECONDS = 1.0
#: eu-west-1 deploys A slower than us-east-1: wave 2 waits for it.
EU_WEST_SECONDS = 1.5

CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}
reconcile_interval: 1h
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - name: beta
        promotion: beta
        bake: 1s
      - name: prod-wave-1
        bake: 1s
        rollback: {policy: auto, scope: wave}
        targets:
          - {name: us-east-1, target: prod-us-east-1, promotion: prod-us-east-1}
          - {name: eu-west-1, target: prod-eu-west-1, promotion: prod-eu-west-1}
      - name: prod-wave-2
        bake: 1s
        rollback: {policy: auto, scope: wave}
        targets:
          - name: us-west-2
            target: prod-us-west-2
            promotion: prod-us-west-2
            hangs_off: prod-wave-1/us-east-1
          - name: ap-south-1
            target: prod-ap-south-1
            promotion: prod-ap-south-1
            hangs_off: prod-wave-1/eu-west-1
          - {name: sa-east-1, target: prod-sa-east-1, promotion: prod-sa-east-1, hangs_off: ci}
"""


def stage(wave: int, target: str) -> str:
    return f"prod-wave-{wave}/{target}"


def file(target: str) -> str:
    return f"deploy-prod-{target}.yml"


def world(*, automatic: bool) -> World:
    """beta, wave 1 and wave 2 as Semaphore pipelines: each target its own deployment target,
    pipeline file and queue; `automatic` makes every promotion Semaphore's own."""

    def promotion(target: str) -> dict[str, Any]:
        name = "beta" if target == "beta" else f"prod-{target}"
        spec: dict[str, Any] = {
            "name": name,
            "pipeline_file": "deploy-beta.yml" if target == "beta" else file(target),
            "deployment_target": name,
        }
        if automatic:
            spec["auto_promote"] = {"when": PASSED_ON_MAIN}
        return spec

    def deploy(target: str, name: str, promotes: list[str]) -> dict[str, Any]:
        return {
            "name": name,
            "blocks": [{"name": "Deploy"}],
            "queue": {"name": f"demo-{target}", "processing": "serialized"},
            "promotions": [promotion(t) for t in promotes],
        }

    ci_targets = ["beta", *(t for t in WAVE_2 if HANGS_OFF[t] == "ci")]
    pipelines: dict[str, Any] = {
        ".semaphore/semaphore.yml": {
            "name": "CI",
            "blocks": [{"name": "Build"}, {"name": "Test"}],
            "promotions": [promotion(t) for t in ci_targets],
        },
        ".semaphore/deploy-beta.yml": deploy("beta", "Deploy to beta", list(WAVE_1)),
    }
    for target in WAVE_1:
        after = [t for t in WAVE_2 if HANGS_OFF[t] == target]
        pipelines[f".semaphore/{file(target)}"] = deploy(target, f"Deploy to {target}", after)
    for target in WAVE_2:
        pipelines[f".semaphore/{file(target)}"] = deploy(target, f"Deploy to {target}", [])
    names = ["beta", *(f"prod-{t}" for t in (*WAVE_1, *WAVE_2))]
    spec = {
        "organization": "demo-org",
        "projects": [
            {
                "name": "demo",
                "deployment_targets": [{"name": name} for name in names],
                "pipelines": pipelines,
            }
        ],
    }
    return parse_world(yaml.safe_dump(spec, sort_keys=False))


async def waves_with_bot(play: Play) -> None:
    await play.outcome(file("eu-west-1"), "A", duration=EU_WEST_SECONDS)
    for target in WAVE_2:
        await play.outcome(file(target), "A", duration=WAVE_2_SECONDS)
    await play.push("A")
    for target in WAVE_2:
        await play.wait(f"A deployed to {target}", partial(play.deployed, stage(2, target), "A"))
    await play.outcome(file("ap-south-1"), "B", result="failed", duration=WAVE_2_SECONDS)
    await play.push("B")

    async def rolled_back(target: str) -> bool:
        return await play.finished(stage(2, target), "A", DeploymentKind.ROLLBACK) is not None

    for target in WAVE_2:
        await play.wait(f"{target} rolled back to A", partial(rolled_back, target), timeout=30.0)


async def waves_alone(play: Play) -> None:
    await play.push("A")
    for target in WAVE_2:
        await play.pipeline(file(target), "A", "passed")
    await play.outcome(file("eu-west-1"), "B", result="failed", duration=1.5)
    await play.push("B")
    await play.pipeline(file("eu-west-1"), "B", "failed")
    await play.pipeline(file("us-west-2"), "B", "passed")
    await play.sleep(1.0)  # does anything roll back, or stop B? nothing does
