"""Only the deploy branch's CI makes a change (DESIGN.md section 4 rule 9).

Commits `tag` (built for tag v1.2.3), `pr` (built for pull request #7 from branch feature-x)
and `main` (pushed to main) all pass CI at about the same time, and Semaphore's notification
sends the bot every one of them (a rule with `branches: [main]` would still send the tag's: its
empty tag filter matches every tag). Their webhooks say `reference_type` `tag` and
`pull_request`, with no branch. Only `main` is deployed, to every stage; a reconciliation pass
afterwards picks up nothing more.
"""

from __future__ import annotations

from bot.scenarios.play import Play, ScenarioError

TAG = "v1.2.3"
PULL_REQUEST = 7
HEAD_BRANCH = "feature-x"
NOT_CI = ("tag", "pr")


async def tags_and_pull_requests(play: Play) -> None:
    await play.push("tag", tag=TAG)
    await play.push("pr", pull_request=PULL_REQUEST, branch=HEAD_BRANCH)
    await play.push("main")
    for label in NOT_CI:
        await play.pipeline("semaphore.yml", label, "passed")
    await play.wait("main deployed to prod", lambda: play.deployed("prod", "main"))
    play.note("a reconciliation pass polls Semaphore for CI pipelines that passed")
    await play.orchestrator.reconcile()
    for stage in play.harness.config.project(play.project).stage_names:
        for label in NOT_CI:
            if await _on_stage(play, stage, label):
                raise ScenarioError(f"the {label} build made a change on {stage}")


async def _on_stage(play: Play, stage: str, label: str) -> bool:
    sha = play.sha(label)
    state = await play.harness.store.load(play.project, stage)
    found = [*state.queue, *([state.current] if state.current else [])]
    found += await play.harness.store.history(play.project, stage)
    return any(d.change.sha == sha for d in found)
