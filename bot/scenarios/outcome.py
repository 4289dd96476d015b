"""What a scenario came to, in words, from Semaphore's events alone (issue 15 item 13).

    outcome(run) -> {"text": "...", "stages": {stage: sha}}

Per stage, in order: each promoted pipeline by its commit's label, marked when it failed, was
stopped or cancelled (auto-cancel named as such), and `rolled back to X` when a stage that had
a failure runs an earlier commit again; then what the stage runs at the end, and `never rolled
back` when a failure there was never undone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # record.py serves `outcome` in its JSON: no import at run time
    from bot.scenarios.record import Pipeline, ScenarioRun

#: Why Semaphore ended a pipeline early, in words.
ENDED = {"strategy": "auto-cancel", "user": "a person", "fast_failing": "fail-fast"}


def outcome(run: ScenarioRun) -> dict[str, Any]:
    stages: list[str] = []
    for pipeline in run.pipelines():
        if pipeline.promoted and pipeline.stage and pipeline.stage not in stages:
            stages.append(pipeline.stage)
    texts, final = [], {}
    for stage in stages:
        text, runs = _stage(run, stage)
        texts.append(text)
        if runs is not None:
            final[stage] = run.commits.get(runs, runs)
    return {"text": "; ".join(texts) or "nothing was deployed", "stages": final}


def _stage(run: ScenarioRun, stage: str) -> tuple[str, str | None]:
    parts: list[str] = []
    went: list[str] = []  # labels whose deploy passed here, in order
    before: dict[str, str | None] = {}  # what ran before each deploy of a label
    broken: str | None = None  # a failure not undone yet
    runs: str | None = None
    went_on = True  # something passed here since the last failure (or none failed)
    for pipeline in run.promoted(stage):
        label = pipeline.label
        if "rollback" in pipeline.file:  # Semaphore's own rollback pipeline of `label`
            parts.append(_ended(run, pipeline, f"rollback of {label}"))
            if pipeline.result == "passed":
                back = before.get(label)
                undone = went[went.index(label) + 1 :] if label in went else []
                note = f"back to {back}" if back else "back"
                note += f", undoing {', '.join(undone)}" if undone else ""
                parts[-1] = f"rollback of {label} ({note})"
                runs, broken, went_on = back, None, True
            continue
        before.setdefault(label, runs)
        again = broken is not None and label in went  # deploybot redeploys a good one
        if pipeline.result == "passed":
            parts.append(f"rolled back to {label}" if again else label)
            runs, went_on = label, True
            went.append(label)
            broken = None if again else broken
        else:
            parts.append(_ended(run, pipeline, label))
            if pipeline.result == "failed":
                broken, went, went_on = label, [*went, label], False
    end = f"{stage} runs {runs}" if runs is not None else f"nothing runs on {stage}"
    if broken is not None and not went_on:  # nothing passed here since the failure
        end = f"{stage} is as the failure of {broken} left it, never rolled back"
    elif broken is not None and runs is not None and runs != broken:
        end += f" on top of the failure of {broken}, never rolled back"
    return f"{stage} ran {', '.join(parts)}: {end}", runs


def _ended(run: ScenarioRun, pipeline: Pipeline, what: str) -> str:
    result = pipeline.result
    if result == "passed":
        return what
    if result == "failed":
        return f"{what} (failed)"
    if result in ("stopped", "canceled"):
        reason = _reason(run, pipeline)
        verb = "stopped" if result == "stopped" else "cancelled"
        by = ENDED.get(reason, reason)
        return f"{what} ({verb} by {by})" if by else f"{what} ({verb})"
    last = pipeline.states[-1][0] if pipeline.states else ""
    if last in ("initializing", "pending", "queuing"):
        return f"{what} (still waiting in its queue)"
    return f"{what} (still running)"


def _reason(run: ScenarioRun, pipeline: Pipeline) -> str:
    done = [e for e in run.events if e["type"] == "pipeline" and e["pipeline_id"] == pipeline.id]
    return str(done[-1].get("result_reason") or "") if done else ""
