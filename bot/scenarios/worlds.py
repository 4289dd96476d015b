"""The Semaphore worlds and deploybot configurations the scenarios run on.

Every world has one project, `demo`: CI promotes to beta, beta to prod, as in the simulator's
built-in world. The seed world (DESIGN.md section 1 item 3) adds what a team would configure to
get rollbacks from Semaphore alone: fail-fast on the prod deploy, a `result = 'failed'`
promotion into a rollback pipeline that shares prod's queue, and optionally auto-cancel.
Without deploybot those promotions are automatic; with deploybot none is.
"""

from __future__ import annotations

from typing import Any, Literal

import yaml

from semaphore_client.simulator import World, default_world, parse_world

AutoCancel = Literal["running", "queued"]

PASSED_ON_MAIN = "result = 'passed' and branch = 'main'"

#: beta and prod, both baking briefly; prod rolls back automatically.
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
      - name: prod
        promotion: prod
        bake: PROD_BAKE
        rollback: {policy: auto}
        PROD_EXTRA
"""


def config(prod_bake: str = "1s", prod_extra: str = "") -> str:
    """deploybot's configuration for the `demo` project; `prod_extra` is more YAML for prod."""
    return CONFIG.replace("PROD_BAKE", prod_bake).replace("PROD_EXTRA", prod_extra)


def plain_world() -> World:
    return default_world()


def seed_world(
    *, auto_cancel: AutoCancel | None, automatic: bool, waits_for_rollback: bool = False
) -> World:
    """The seed's world; `automatic` makes every promotion Semaphore's own (no deploybot);
    `waits_for_rollback`: prod's deploy pipeline first waits while a rollback of prod is on its
    way (the simulator's `waits_for`: what a team adds to stop B deploying before A's rollback,
    DESIGN problem 2)."""

    def promotion(name: str, file: str, target: str, when: str) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "name": name,
            "pipeline_file": file,
            "deployment_target": target,
        }
        if automatic:
            spec["auto_promote"] = {"when": when}
        return spec

    prod_queue = {"name": "demo-prod", "processing": "serialized"}
    deploy_prod: dict[str, Any] = {
        "name": "Deploy to prod",
        "blocks": [{"name": "Deploy"}],
        "queue": prod_queue,
        "fail_fast": {"stop": {"when": "true"}},
        "promotions": [
            promotion("prod-rollback", "rollback-prod.yml", "prod", "result = 'failed'")
        ],
    }
    if auto_cancel is not None:
        deploy_prod["auto_cancel"] = {auto_cancel: {"when": "true"}}
    if waits_for_rollback:
        deploy_prod["waits_for"] = ".semaphore/rollback-prod.yml"
    pipelines = {
        ".semaphore/semaphore.yml": {
            "name": "CI",
            "blocks": [{"name": "Build"}, {"name": "Test"}],
            "promotions": [promotion("beta", "deploy-beta.yml", "beta", PASSED_ON_MAIN)],
        },
        ".semaphore/deploy-beta.yml": {
            "name": "Deploy to beta",
            "blocks": [{"name": "Deploy"}],
            "queue": {"name": "demo-beta", "processing": "serialized"},
            "promotions": [promotion("prod", "deploy-prod.yml", "prod", PASSED_ON_MAIN)],
        },
        ".semaphore/deploy-prod.yml": deploy_prod,
        ".semaphore/rollback-prod.yml": {
            "name": "Roll back prod",
            "blocks": [{"name": "Roll back"}],
            "queue": prod_queue,
        },
    }
    world = {
        "organization": "demo-org",
        "projects": [
            {
                "name": "demo",
                "deployment_targets": [{"name": "beta"}, {"name": "prod"}],
                "pipelines": pipelines,
            }
        ],
    }
    return parse_world(yaml.safe_dump(world, sort_keys=False))
