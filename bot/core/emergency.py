"""Where an emergency deployment is promoted from (issue 13 item 1).

A stage that hangs off CI is promoted from the change's CI pipeline. A stage that hangs off
the previous stage has its promotion declared in the previous stage's deploy pipeline, so
Semaphore finds it only there: the emergency is promoted from the previous stage's deploy
pipeline of that change, when the change got there; else, when the stage names a dedicated
emergency promotion (declared in the CI pipeline), from the CI pipeline with that promotion;
else it cannot be done, and the person is told, before the modal opens, what to add.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.model import Change, Deployment, DeploymentKind, DeploymentState, StagePolicy

#: States of a deployment whose deploy pipeline a promotion can hang off.
DEPLOYED = (DeploymentState.BAKING, DeploymentState.DONE, DeploymentState.SUCCEEDED)


def emergency_source(
    policy: StagePolicy, change: Change, previous: Iterable[Deployment]
) -> str | None:
    """The pipeline to promote an emergency deployment of `change` to the stage from, or
    None when there is none (`previous`: the previous stage's deployments, newest first)."""
    if not policy.hangs_off_previous:
        return change.ci_pipeline_id
    for deployment in previous:
        if (
            deployment.change.sha == change.sha
            and deployment.deploy_pipeline_id
            and deployment.state in DEPLOYED
            and deployment.kind is not DeploymentKind.OUTSIDE
        ):
            return deployment.deploy_pipeline_id
    if policy.emergency_promotion:
        return change.ci_pipeline_id
    return None


def no_source(policy: StagePolicy, previous_stage: str, change: Change, ci_file: str) -> str:
    """Why an emergency deployment of `change` cannot be promoted, and what to add."""
    return (
        f"{policy.stage}'s promotion `{policy.promotion}` is declared in {previous_stage}'s "
        f"deploy pipeline, and `{change.sha[:7]}` has not been deployed to {previous_stage}, so "
        f"Semaphore has nothing to promote it from. To deploy a commit to {policy.stage} in an "
        f"emergency without {previous_stage}, declare a promotion of {policy.stage}'s deploy "
        f"pipeline in {ci_file} (without auto_promote) and name it on stage {policy.stage} in "
        "deploybot's configuration: `emergency: {promotion: NAME}`"
    )


def emergency_promotion(policy: StagePolicy, deployment: Deployment) -> str | None:
    """The stage's dedicated emergency promotion, for an emergency deployment promoted from
    the change's CI pipeline on a stage whose own promotion hangs off the previous stage."""
    if (
        deployment.kind is DeploymentKind.EMERGENCY
        and policy.hangs_off_previous
        and policy.emergency_promotion
        and deployment.source_pipeline_id == deployment.change.ci_pipeline_id
    ):
        return policy.emergency_promotion
    return None
