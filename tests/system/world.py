"""The Semaphore worlds and deploybot configurations of the randomized system test: two
pipelines (`Topology`), each run with its own seeds.

`PLAIN`: three stages, each behind a deployment target: CI promotes to beta, beta's deploy
pipeline to gamma, gamma's to prod. prod is set up the way a cautious team sets it up in
Semaphore alone: its deploy queue auto-cancels what waits in it, a failing deploy stops itself
(fail-fast), and a dedicated rollback pipeline shares the queue. The CI pipeline also declares
an emergency promotion of prod, and a nightly pipeline that passes without being CI.

`WAVES` (issue 18): beta, then prod in two waves: `w1` with two targets (a, b), `w2` with three
(x hangs off w1/a's deploy pipeline, y off w1/b's, z off CI). Each target has its own
deployment target, pipeline file and queue; w2 rolls back with `scope: wave`.
"""

from __future__ import annotations

from dataclasses import dataclass

from semaphore_client.simulator import GoferTimes, World, parse_world

PROJECT = "demo"


@dataclass(frozen=True)
class Topology:
    """One pipeline shape: deploybot's stages and what stands for each in Semaphore."""

    name: str
    config: str
    world_yaml: str
    #: deploybot's stages, in pipeline order.
    stages: tuple[str, ...]
    #: The stages of each step (a stage alone, or a wave's targets), in order.
    steps: tuple[tuple[str, ...], ...]
    #: The pipeline files whose pipelines deploy (or roll back) each stage.
    stage_files: dict[str, str]
    #: Per stage: its promotion (also its Semaphore deployment target's name).
    promotions: dict[str, str]

    def deploy_file(self, stage: str) -> str:
        return next(f for f, s in self.stage_files.items() if s == stage and "rollback" not in f)

    def world(self) -> World:
        return parse_world(self.world_yaml)


CI_FILE = ".semaphore/semaphore.yml"
NIGHTLY_FILE = ".semaphore/nightly.yml"
#: Seconds a deployment may wait for Semaphore to start its pipeline (the config's
#: `start_timeout`), and Gofer's deadlines, shortened so that a run stays short.
START_TIMEOUT = 3
GOFER = GoferTimes(delay=0.2, deadline=1.5, target_deadline=2.0)

PLAIN_WORLD = """
organization: demo-org
projects:
  - name: demo
    deployment_targets: [{name: beta}, {name: gamma}, {name: prod}]
    pipelines:
      .semaphore/semaphore.yml:
        name: CI
        blocks: [{name: Build}, {name: Test, task: {jobs: [{name: unit}, {name: lint}]}}]
        promotions:
          - {name: beta, pipeline_file: deploy-beta.yml, deployment_target: beta}
          - {name: prod-emergency, pipeline_file: deploy-prod.yml, deployment_target: prod}
      .semaphore/nightly.yml:
        name: Nightly soak
        blocks: [{name: Soak}]
      .semaphore/deploy-beta.yml:
        name: Deploy to beta
        blocks: [{name: Deploy}]
        queue: {name: demo-beta, processing: serialized}
        promotions:
          - {name: gamma, pipeline_file: deploy-gamma.yml, deployment_target: gamma}
      .semaphore/deploy-gamma.yml:
        name: Deploy to gamma
        blocks: [{name: Deploy}]
        queue: {name: demo-gamma, processing: serialized}
        promotions:
          - {name: prod, pipeline_file: deploy-prod.yml, deployment_target: prod}
          - {name: prod-rollback, pipeline_file: rollback-prod.yml, deployment_target: prod}
      .semaphore/deploy-prod.yml:
        name: Deploy to prod
        blocks: [{name: Deploy}, {name: Verify}]
        queue: {name: demo-prod, processing: serialized}
        auto_cancel: {queued: {when: "true"}}
        fail_fast: {stop: {when: "true"}}
      .semaphore/rollback-prod.yml:
        name: Roll back prod
        blocks: [{name: Roll back}]
        queue: {name: demo-prod, processing: serialized}
"""

PLAIN_CONFIG = f"""
roles: {{block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}}
reconcile_interval: 2s
reconcile_idle: 2s
semaphore_api_budget: 3000  # reconciles 30 times as often as the default: budget to match
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - name: beta
        promotion: beta
        bake: 1s
        start_timeout: {START_TIMEOUT}s
        rollback: {{policy: auto}}
      - name: gamma
        promotion: gamma
        bake: 1s
        start_timeout: {START_TIMEOUT}s
        rollback: {{policy: auto}}
      - name: prod
        promotion: prod
        bake: 1s
        start_timeout: {START_TIMEOUT}s
        rollback: {{policy: auto, promotion: prod-rollback}}
        emergency: {{promotion: prod-emergency}}
"""

PLAIN = Topology(
    name="plain",
    config=PLAIN_CONFIG,
    world_yaml=PLAIN_WORLD,
    stages=("beta", "gamma", "prod"),
    steps=(("beta",), ("gamma",), ("prod",)),
    stage_files={
        "deploy-beta.yml": "beta",
        "deploy-gamma.yml": "gamma",
        "deploy-prod.yml": "prod",
        "rollback-prod.yml": "prod",
    },
    promotions={"beta": "beta", "gamma": "gamma", "prod": "prod"},
)

W1, W2 = ("w1/a", "w1/b"), ("w2/x", "w2/y", "w2/z")
#: What each wave-2 target's promotion hangs off.
W2_SOURCES = {"w2/x": "w1/a", "w2/y": "w1/b", "w2/z": "ci"}


def _name(stage: str) -> str:
    """A stage's promotion and deployment target: `w1-a` for `w1/a`."""
    return stage.replace("/", "-")


def _waves_world() -> str:
    def promotion(stage: str) -> str:
        return (f"          - {{name: {_name(stage)}, pipeline_file: deploy-{_name(stage)}.yml, "
                f"deployment_target: {_name(stage)}}}")  # fmt: skip

    def deploy(stage: str, promotes: list[str]) -> str:
        lines = [f"      .semaphore/deploy-{_name(stage)}.yml:",
                 f"        name: Deploy to {stage}",
                 "        blocks: [{name: Deploy}]",
                 f"        queue: {{name: demo-{_name(stage)}, processing: serialized}}"]  # fmt: skip
        if promotes:
            lines += ["        promotions:", *(promotion(p) for p in promotes)]
        return "\n".join(lines)

    ci = ["beta", *(s for s in W2 if W2_SOURCES[s] == "ci")]
    targets = ", ".join(f"{{name: {_name(s)}}}" for s in ("beta", *W1, *W2))
    parts = [
        "organization: demo-org",
        "projects:",
        "  - name: demo",
        f"    deployment_targets: [{targets}]",
        "    pipelines:",
        "      .semaphore/semaphore.yml:",
        "        name: CI",
        "        blocks: [{name: Build}, {name: Test}]",
        "        promotions:",
        *(promotion(s) for s in ci),
        "      .semaphore/nightly.yml:",
        "        name: Nightly soak",
        "        blocks: [{name: Soak}]",
        deploy("beta", list(W1)),
        *(deploy(s, [t for t in W2 if W2_SOURCES[t] == s]) for s in W1),
        *(deploy(s, []) for s in W2),
    ]
    return "\n".join(parts) + "\n"


def _waves_config() -> str:
    def target(stage: str, hangs_off: str | None) -> str:
        line = (f"          - {{name: {stage.partition('/')[2]}, target: {_name(stage)}, "
                f"promotion: {_name(stage)}")  # fmt: skip
        return line + (f", hangs_off: {hangs_off}}}" if hangs_off else "}")

    common = f"bake: 1s\n        start_timeout: {START_TIMEOUT}s"
    return "\n".join([
        "roles: {block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}",
        "reconcile_interval: 2s",
        "reconcile_idle: 2s",
        "semaphore_api_budget: 3000",
        "projects:",
        "  - name: demo",
        "    channel: C0DEMO",
        "    stages:",
        "      - name: beta",
        "        promotion: beta",
        f"        {common}",
        "        rollback: {policy: auto}",
        "      - name: w1",
        f"        {common}",
        "        rollback: {policy: auto}",
        "        targets:",
        *(target(s, None) for s in W1),
        "      - name: w2",
        f"        {common}",
        "        rollback: {policy: auto, scope: wave}",
        "        targets:",
        *(target(s, W2_SOURCES[s]) for s in W2),
    ]) + "\n"  # fmt: skip


WAVES = Topology(
    name="waves",
    config=_waves_config(),
    world_yaml=_waves_world(),
    stages=("beta", *W1, *W2),
    steps=(("beta",), W1, W2),
    stage_files={f"deploy-{_name(s)}.yml": s for s in ("beta", *W1, *W2)},
    promotions={s: _name(s) for s in ("beta", *W1, *W2)},
)
