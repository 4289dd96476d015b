"""The system test's invariants catch what they are for: each broken on purpose, in events
written by hand the way the simulator records them."""

from __future__ import annotations

from typing import Any

from tests.system.invariants import check
from tests.system.world import WAVES

FINAL = "f" * 40
OLD = "a" * 40
TAG = "7" * 40


class Events:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def pipeline(self, pid: str, file: str, sha: str, state: str, **more: Any) -> Events:
        self.items.append(
            {
                "seq": len(self.items) + 1,
                "at": "2026-12-05T10:00:00.000000Z",
                "type": "pipeline",
                "pipeline_id": pid,
                "pipeline_file": f".semaphore/{file}",
                "commit_sha": sha,
                "state": state,
                "result": more.pop("result", None),
                "result_reason": more.pop("reason", None),
                "promotion_of": more.pop("promotion_of", None),
                "triggered_by": more.pop("triggered_by", "promotion"),
                "branch": more.pop("branch", "main"),
            }
        )
        return self

    def ran(self, pid: str, file: str, sha: str, **more: Any) -> Events:
        """A whole pipeline: created, running, then done (passed unless told)."""
        result, reason = more.pop("result", "passed"), more.pop("reason", "test")
        self.pipeline(pid, file, sha, "initializing", **dict(more))
        self.pipeline(pid, file, sha, "running", **dict(more))
        return self.pipeline(pid, file, sha, "done", result=result, reason=reason, **more)

    def ci(self, pid: str, sha: str, branch: str = "main") -> Events:
        return self.ran(pid, "semaphore.yml", sha, triggered_by="workflow", branch=branch)

    def deploys(self, sha: str, ci: str, branch: str = "main") -> Events:
        """`sha` goes to beta, gamma and prod (a promoted pipeline has its workflow's
        branch name)."""
        self.ran(f"{ci}-b", "deploy-beta.yml", sha, promotion_of=ci, branch=branch)
        self.ran(f"{ci}-g", "deploy-gamma.yml", sha, promotion_of=f"{ci}-b", branch=branch)
        return self.ran(f"{ci}-p", "deploy-prod.yml", sha, promotion_of=f"{ci}-g", branch=branch)


def problems(events: Events, emergencies: tuple[str, ...] = ()) -> list[str]:
    """Invariants 1 to 5 (the histories above skip steps that invariant 6 would name)."""
    found = check(events.items, final_sha=FINAL, emergency_pipelines=emergencies, label={})
    return [p for p in found if not p.startswith("6:")]


def gate_problems(events: Events, emergencies: tuple[str, ...] = ()) -> list[str]:
    """Invariant 6 on the waves pipeline."""
    found = check(events.items, final_sha=FINAL, emergency_pipelines=emergencies, label={},
                  topology=WAVES)  # fmt: skip
    return [p for p in found if p.startswith("6:")]


def waves(events: Events, sha: str, ci: str, early: str | None = None) -> Events:
    """`sha` goes to beta, then w1's two targets, then w2's three (`early`: that w2 target's
    deploy is promoted right after beta's, before w1's)."""
    events.ran(f"{ci}-b", "deploy-beta.yml", sha, promotion_of=ci)
    if early:
        events.ran(f"{ci}-e", f"deploy-{early}.yml", sha, promotion_of=f"{ci}-b")
    for target in ("w1-a", "w1-b"):
        events.ran(f"{ci}-{target}", f"deploy-{target}.yml", sha, promotion_of=f"{ci}-b")
    for target in ("w2-x", "w2-y", "w2-z"):
        if target != early:
            events.ran(f"{ci}-{target}", f"deploy-{target}.yml", sha, promotion_of=f"{ci}-w1-a")
    return events


def test_a_run_through_both_waves_breaks_no_gate() -> None:
    assert gate_problems(waves(Events().ci("ci-f", FINAL), FINAL, "ci-f")) == []


def test_a_wave_target_promoted_before_the_wave_before_passed_breaks_invariant_6() -> None:
    events = waves(Events().ci("ci-f", FINAL), FINAL, "ci-f", early="w2-y")
    assert gate_problems(events) == [
        "6: deploy-w2-y.yml of fffffff was promoted before its deploy passed on w1/a, w1/b"
    ]
    assert gate_problems(events, emergencies=("ci-f-e",)) == []  # an emergency may


def test_a_clean_run_breaks_nothing() -> None:
    events = Events().ci("ci-old", OLD).deploys(OLD, "ci-old").ci("ci-f", FINAL)
    assert problems(events.deploys(FINAL, "ci-f")) == []


def test_two_pipelines_of_one_stage_at_once_break_invariant_1() -> None:
    events = Events().ci("ci-old", OLD).ci("ci-f", FINAL)
    events.pipeline("r1", "rollback-prod.yml", OLD, "running")
    events.ran("d1", "deploy-prod.yml", FINAL)
    events.pipeline("r1", "rollback-prod.yml", OLD, "done", result="passed", reason="test")
    events.deploys(FINAL, "ci-f")
    [problem] = problems(events)
    assert problem.startswith("1: on prod, deploy-prod.yml")


def test_a_promoted_tag_build_breaks_invariant_2() -> None:
    events = Events().ci("ci-tag", TAG, branch="refs/tags/v1")
    events.deploys(TAG, "ci-tag", branch="refs/tags/v1")
    events.ci("ci-f", FINAL).deploys(FINAL, "ci-f")
    found = problems(events)
    assert len(found) == 3 and all("refs/tags/v1" in p for p in found)


def test_a_stage_left_on_an_older_commit_breaks_invariant_3() -> None:
    events = Events().ci("ci-f", FINAL).deploys(FINAL, "ci-f").ci("ci-old", OLD)
    events.ran("late", "deploy-gamma.yml", OLD)
    assert problems(events) == ["3: after settling, gamma runs aaaaaaa, not the final commit"]


def test_an_auto_cancelled_rollback_breaks_invariant_4() -> None:
    events = Events().ci("ci-old", OLD).ci("ci-f", FINAL).deploys(FINAL, "ci-f")
    events.pipeline("r1", "rollback-prod.yml", OLD, "initializing")
    events.pipeline("r1", "rollback-prod.yml", OLD, "done", result="canceled", reason="strategy")
    assert problems(events) == ["4: Semaphore's auto-cancel ended rollback-prod.yml of aaaaaaa "
                                "(canceled)"]  # fmt: skip


def test_a_promotion_from_an_emergency_pipeline_breaks_invariant_5() -> None:
    events = Events().ci("ci-f", FINAL).deploys(FINAL, "ci-f")
    assert problems(events, emergencies=("ci-f-b",)) == [
        "5: deploy-gamma.yml of fffffff was promoted from an emergency deployment's pipeline"
    ]
