"""Checks that span several entries of the configuration, run on the raw YAML data.

They read the data defensively (anything may be the wrong type: the field validation reports
that), so they run and report even when other parts of the file are broken.
"""

from __future__ import annotations

from typing import Any

Loc = tuple[str | int, ...]
#: `/deploy block all ...` blocks everything, so nothing may be called `all`.
RESERVED_NAMES = frozenset({"all"})


def default_freeze_id(start: Any) -> str:
    """A freeze without an id is named by the date it starts on (`2026-12-20`)."""
    return str(start)[:10]


def cross_problems(data: Any) -> list[tuple[Loc, str]]:
    projects = _items(data, "projects")
    problems = _duplicates(projects, ("projects",), "project")
    project_names = {name for _, name in _names(projects)}
    for index, project in enumerate(projects):
        here: Loc = ("projects", index)
        stages = _items(project, "stages")
        problems += _reserved(projects, index)
        problems += _duplicates(stages, (*here, "stages"), "stage")
        for stage_index, name in _names(stages):
            if name in project_names:
                problems.append(
                    (
                        (*here, "stages", stage_index, "name"),
                        f"stage name {name!r} is also a project name, so '/deploy block {name}'"
                        " would be ambiguous",
                    )
                )
            if name in RESERVED_NAMES:
                problems.append(((*here, "stages", stage_index, "name"), _reserved_message(name)))
        problems += _hangs_off_refs(stages, here)
        problems += _wave_targets(stages, here)
        problems += _freeze_id_clashes(project, here)
        problems += _emergency_on_ci_stages(stages, here)
        problems += _approvals_reachable(data, project, stages, here)
    return problems


def _targets(stage: Any) -> list[Any] | None:
    """A declared stage's `targets` (None: a stage of one target)."""
    targets = stage.get("targets") if isinstance(stage, dict) else None
    return targets if isinstance(targets, list) else None


def _hangs_off_of(stage: Any, where: Loc) -> list[tuple[Loc, Any]]:
    """Each `hangs_off` of a declared stage (one per target of a wave), with its place."""
    targets = _targets(stage)
    if targets is None:
        value = stage.get("hangs_off") if isinstance(stage, dict) else None
        return [((*where, "hangs_off"), value)]
    return [
        ((*where, "targets", index, "hangs_off"), target.get("hangs_off"))
        for index, target in enumerate(targets)
        if isinstance(target, dict)
    ]


def _hangs_off_refs(stages: list[Any], here: Loc) -> list[tuple[Loc, str]]:
    """`previous` needs a previous stage of one target; after a wave, a stage names the
    wave's target whose deploy pipeline declares its promotion (or `ci`)."""
    problems: list[tuple[Loc, str]] = []
    for index, stage in enumerate(stages):
        before = stages[index - 1] if index else None
        name = before.get("name") if isinstance(before, dict) else None
        targets = _targets(before) or []
        names = [t.get("name") for t in targets if isinstance(t, dict)]
        example = f"{name}/{names[0]}" if names else f"{name}/TARGET"
        for loc, value in _hangs_off_of(stage, (*here, "stages", index)):
            if not isinstance(value, str | None) or value == "ci":
                continue
            if before is None and value is not None:
                problems.append(
                    (loc, "the first stage has no previous stage to hang off; use 'ci'")
                )
            elif before is not None and _targets(before) is not None and "/" not in str(value):
                problems.append(
                    (
                        loc,
                        f"the previous stage {name!r} is a wave of several targets: say which "
                        f"one's deploy pipeline declares this promotion (hangs_off: {example}),"
                        " or hang off 'ci'",
                    )
                )
            elif value is not None and "/" in value and before is not None:
                wave, _, target = value.partition("/")
                if _targets(before) is None:
                    problems.append(
                        (
                            loc,
                            f"{value!r} names a target, but the previous stage {name!r} has one;"
                            " use 'previous' or 'ci'",
                        )
                    )
                elif wave != name or target not in names:
                    listed = ", ".join(f"{name}/{n}" for n in names)
                    problems.append(
                        (loc, f"{value!r} is not a target of the previous stage ({listed})")
                    )
    return problems


def _wave_targets(stages: list[Any], here: Loc) -> list[tuple[Loc, str]]:
    """A stage names its promotion, or is a wave whose targets have names and promotions of
    their own."""
    problems: list[tuple[Loc, str]] = []
    for index, stage in enumerate(stages):
        targets = _targets(stage)
        if targets is None:
            if isinstance(stage, dict) and "promotion" not in stage and "targets" not in stage:
                problems.append(
                    (
                        (*here, "stages", index, "promotion"),
                        "missing (this key is required, or 'targets' for a wave)",
                    )
                )
            continue
        where: Loc = (*here, "stages", index, "targets")
        problems += _duplicates(targets, where, "target")
        seen: dict[str, int] = {}
        for target_index, target in enumerate(targets):
            promotion = target.get("promotion") if isinstance(target, dict) else None
            if not isinstance(promotion, str):
                continue
            if promotion in seen:
                problems.append(
                    (
                        (*where, target_index, "promotion"),
                        f"promotion {promotion!r} is used twice (first at "
                        f"{format_loc((*where, seen[promotion]))}); each target deploys through "
                        "its own promotion",
                    )
                )
            seen.setdefault(promotion, target_index)
    return problems


def _approvals_reachable(
    data: Any, project: Any, stages: list[Any], here: Loc
) -> list[tuple[Loc, str]]:
    """A stage requiring more approvals than people have the approve role would wait for ever
    (user groups are counted as enough: their members are known only at run time)."""
    roles = project.get("roles") if isinstance(project, dict) else None
    approvers = roles.get("approve") if isinstance(roles, dict) else None
    if approvers is None:
        top = data.get("roles") if isinstance(data, dict) else None
        approvers = top.get("approve") if isinstance(top, dict) else None
    names = [str(a) for a in approvers or [] if isinstance(a, str)]
    if any(name.startswith("S") for name in names):
        return []
    problems: list[tuple[Loc, str]] = []
    for index, stage in enumerate(stages):
        approval = stage.get("approval") if isinstance(stage, dict) else None
        if not isinstance(approval, dict):
            continue
        required = approval.get("required", 1)
        count = len(set(names))
        if isinstance(required, int) and required > count:
            who = "person has" if count == 1 else "people have"
            problems.append(((*here, "stages", index, "approval", "required"),
                             f"{required} approvals required, but {count} {who} the approve "
                             "role: it would wait for ever"))  # fmt: skip
    return problems


def _emergency_on_ci_stages(stages: list[Any], here: Loc) -> list[tuple[Loc, str]]:
    """`emergency.promotion` is for a stage hanging off the previous one (the first stage,
    and any with `hangs_off: ci`, are promoted from CI anyway)."""
    problems: list[tuple[Loc, str]] = []
    entries: list[tuple[int, Loc, Any]] = []
    for index, stage in enumerate(stages):
        where: Loc = (*here, "stages", index)
        targets = _targets(stage)
        if targets is None:
            entries.append((index, where, stage))
        else:
            entries += [(index, (*where, "targets", i), t) for i, t in enumerate(targets)]
    for index, where, stage in entries:
        if not isinstance(stage, dict) or not stage.get("emergency"):
            continue
        if index == 0 or stage.get("hangs_off") == "ci":
            problems.append(
                (
                    (*where, "emergency"),
                    "this stage is promoted from CI already: an emergency promotion is for a "
                    "stage that hangs off the previous one",
                )
            )
    return problems


def _items(data: Any, key: str) -> list[Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def _names(entries: list[Any]) -> list[tuple[int, str]]:
    return [
        (index, entry["name"])
        for index, entry in enumerate(entries)
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    ]


def _duplicates(entries: list[Any], where: Loc, kind: str) -> list[tuple[Loc, str]]:
    first: dict[str, int] = {}
    problems: list[tuple[Loc, str]] = []
    for index, name in _names(entries):
        if name in first:
            problems.append(
                (
                    (*where, index, "name"),
                    f"{kind} name {name!r} is used twice"
                    f" (first at {format_loc((*where, first[name]))})",
                )
            )
        first.setdefault(name, index)
    return problems


def _reserved(projects: list[Any], index: int) -> list[tuple[Loc, str]]:
    project = projects[index]
    name = project.get("name") if isinstance(project, dict) else None
    if name in RESERVED_NAMES:
        return [(("projects", index, "name"), _reserved_message(str(name)))]
    return []


def _reserved_message(name: str) -> str:
    return f"{name!r} is reserved ('/deploy block {name}' blocks every stage of every project)"


def _freeze_id_clashes(project: Any, here: Loc) -> list[tuple[Loc, str]]:
    """A stage's freezes and its project's freezes share one id space (`freeze:<id>`)."""
    project_ids = _freeze_ids(_items(project, "freezes"), (*here, "freezes"))
    problems = _duplicates_of(project_ids, {})
    for stage_index, stage in enumerate(_items(project, "stages")):
        where = (*here, "stages", stage_index, "freezes")
        seen = {freeze_id: loc for loc, freeze_id in project_ids}
        problems += _duplicates_of(_freeze_ids(_items(stage, "freezes"), where), seen)
    return problems


def _freeze_ids(freezes: list[Any], where: Loc) -> list[tuple[Loc, str]]:
    ids = []
    for index, freeze in enumerate(freezes):
        if not isinstance(freeze, dict):
            continue
        if isinstance(freeze.get("id"), str):
            ids.append(((*where, index, "id"), freeze["id"]))
        elif "id" not in freeze and freeze.get("start") is not None:
            ids.append(((*where, index), default_freeze_id(freeze["start"])))
    return ids


def _duplicates_of(ids: list[tuple[Loc, str]], seen: dict[str, Loc]) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    seen = dict(seen)
    for loc, freeze_id in ids:
        if freeze_id in seen:
            problems.append(
                (
                    loc,
                    f"freeze id {freeze_id!r} is used twice"
                    f" (first at {format_loc(seen[freeze_id])}); give each freeze its own 'id'",
                )
            )
        seen.setdefault(freeze_id, loc)
    return problems


def format_loc(loc: Loc) -> str:
    """`projects[0].stages[2].windows[0]` for a location tuple."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
