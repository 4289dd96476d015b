"""Waves (issue 18): a stage of several deployment targets that deploy in parallel, bake
together and gate the next stage.

Each target of a wave is a stage of its own to the rules (`WAVE/TARGET`: its own state, queue,
blockers and exactly-once apply). What makes them a wave lives here, on top of the stages:

- the pipeline is a list of *steps*: a stage of one target, or a wave's targets together;
- a change goes on from a step only once every stage of the step has deployed and baked it
  (`gate_open`); the last target to finish its bake sends it on, to every stage of the next
  step at once;
- a stage of the next step is promoted from the deploy pipeline of the stage it hangs off
  (`source_of`), which for a stage after a wave is one named target of the wave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core.model import Change, DeploymentState, StagePolicy, StageState


def steps(policies: Sequence[StagePolicy]) -> list[list[StagePolicy]]:
    """The stages in pipeline order, each wave's targets together in one step."""
    found: list[list[StagePolicy]] = []
    for policy in policies:
        if found and policy.wave and found[-1][0].wave == policy.wave:
            found[-1].append(policy)
        else:
            found.append([policy])
    return found


def step_of(policies: Sequence[StagePolicy], stage: str) -> int:
    return next(i for i, step in enumerate(steps(policies)) if any(p.stage == stage for p in step))


def following(policies: Sequence[StagePolicy], stage: str) -> list[StagePolicy]:
    """The stages of the step after `stage`'s ([] after the last step)."""
    all_steps = steps(policies)
    index = step_of(policies, stage) + 1
    return all_steps[index] if index < len(all_steps) else []


def later(policies: Sequence[StagePolicy], stage: str) -> list[StagePolicy]:
    """Every stage of the steps after `stage`'s, in order."""
    return [p for step in steps(policies)[step_of(policies, stage) + 1 :] for p in step]


def siblings(policies: Sequence[StagePolicy], stage: str) -> list[StagePolicy]:
    """The other targets of `stage`'s wave ([] for a stage of one target)."""
    step = steps(policies)[step_of(policies, stage)]
    return [p for p in step if p.stage != stage and p.wave]


def source_stage(policies: Sequence[StagePolicy], policy: StagePolicy) -> str | None:
    """The stage whose deploy pipeline declares `policy`'s promotion (None: CI)."""
    if not policy.hangs_off_previous:
        return None
    if policy.source_target:
        return policy.source_target
    index = step_of(policies, policy.stage)
    return steps(policies)[index - 1][-1].stage if index else None


def baked(state: StageState, sha: str) -> str | None:
    """The deploy pipeline of `sha` on a stage where it finished baking and is not known
    bad since; None when it has not."""
    if sha in state.bad:
        return None
    for deployment in state.good:
        if deployment.change.sha == sha and deployment.state is DeploymentState.DONE:
            return deployment.deploy_pipeline_id or ""
    return None


def gate_open(
    step: Sequence[StagePolicy], states: Mapping[str, StageState], change: Change
) -> bool:
    """Whether `change` may go on from `step`: every stage of it deployed and baked it."""
    return all(baked(states[p.stage], change.sha) is not None for p in step)
