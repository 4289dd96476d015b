"""The Semaphore world and deploybot configuration of the randomized system test.

Three stages, each behind a deployment target: CI promotes to beta, beta's deploy pipeline to
gamma, gamma's to prod. prod is set up the way a cautious team sets it up in Semaphore alone:
its deploy queue auto-cancels what waits in it, a failing deploy stops itself (fail-fast), and a
dedicated rollback pipeline shares the queue. The CI pipeline also declares an emergency
promotion of prod, and a nightly pipeline that passes without being CI.
"""

from __future__ import annotations

from semaphore_client.simulator import GoferTimes, World, parse_world

PROJECT = "demo"
STAGES = ("beta", "gamma", "prod")
#: The pipeline files whose pipelines deploy (or roll back) each stage.
STAGE_FILES = {
    "deploy-beta.yml": "beta",
    "deploy-gamma.yml": "gamma",
    "deploy-prod.yml": "prod",
    "rollback-prod.yml": "prod",
}
CI_FILE = ".semaphore/semaphore.yml"
NIGHTLY_FILE = ".semaphore/nightly.yml"
#: Seconds a deployment may wait for Semaphore to start its pipeline (the config's
#: `start_timeout`), and Gofer's deadlines, shortened so that a run stays short.
START_TIMEOUT = 3
GOFER = GoferTimes(delay=0.2, deadline=1.5, target_deadline=2.0)

WORLD = """
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

CONFIG = f"""
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


def world() -> World:
    return parse_world(WORLD)
