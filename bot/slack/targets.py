"""Which project and stage a `/deploy` command names: `[project] stage`, case-insensitively.

The project may be left out when the stage name is found in exactly one project (always the
case with one project configured). A stage name found in several projects is ambiguous; a
name found nowhere gets the names that do exist and a did-you-mean. A project name shadows a
stage name of the same spelling. Every function returns a value or a problem (`str`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.config.models import DeploybotConfig, ProjectConfig


@dataclass(frozen=True)
class StageRef:
    """One stage of one project, with names spelled as configured."""

    project: str
    stage: str


def shown(word: str) -> str:
    """A word quoted for a message, shortened if someone pasted a novel."""
    return repr(word if len(word) <= 40 else word[:39] + "…")


def find_project(config: DeploybotConfig, word: str) -> ProjectConfig | None:
    folded = word.lower()
    return next((p for p in config.projects if p.name.lower() == folded), None)


def find_stage(project: ProjectConfig, word: str, waves: bool = False) -> str | None:
    """The stage called `word`; with `waves`, also a wave's name (a command that acts on
    every target of the wave)."""
    folded = word.lower()
    names = [*project.stage_names, *(wave_names(project) if waves else [])]
    return next((name for name in names if name.lower() == folded), None)


def wave_names(project: ProjectConfig) -> list[str]:
    return list(dict.fromkeys(s.wave for s in project.stages if s.wave))


def _a_wave(project: ProjectConfig, word: str) -> str | None:
    """Why a command that acts on one stage cannot take wave `word`, if `word` is one."""
    wave = find_stage(project, word, waves=True)
    if wave is None or wave in project.stage_names:
        return None
    listed = ", ".join(s.name for s in project.wave(wave))
    return f"{wave} is a wave: name one of its targets ({listed})"


def _names(config: DeploybotConfig) -> str:
    projects = ", ".join(config.project_names)
    stages = ", ".join(dict.fromkeys(s.name for p in config.projects for s in p.stages))
    waves = ", ".join(dict.fromkeys(w for p in config.projects for w in wave_names(p)))
    if waves:
        stages += f"; waves: {waves}"
    return f"projects: {projects}; stages: {stages}"


def _suggest(config: DeploybotConfig, word: str) -> str:
    candidates = config.project_names + [s.name for p in config.projects for s in p.stages]
    close = difflib.get_close_matches(word.lower()[:100], list(dict.fromkeys(candidates)), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown(config: DeploybotConfig, word: str) -> str:
    return f"no project or stage {shown(word)}{_suggest(config, word)} ({_names(config)})"


def by_stage_name(config: DeploybotConfig, word: str, waves: bool = False) -> StageRef | str | None:
    """The one stage called `word` across all projects; None if there is none."""
    found = [
        StageRef(p.name, stage)
        for p in config.projects
        if (stage := find_stage(p, word, waves)) is not None
    ]
    if len(found) > 1:
        owners = ", ".join(ref.project for ref in found)
        return (
            f"stage {shown(word)} is in several projects ({owners});"
            f" name the project first, e.g. `{found[0].project} {found[0].stage}`"
        )
    return found[0] if found else None


def stage(
    config: DeploybotConfig, words: list[str], waves: bool = False
) -> tuple[StageRef, int] | str:
    """`[project] stage` at the start of `words`, and how many words it took. With `waves`,
    the stage may be a wave's name (`StageRef.stage` is then the wave's)."""
    if not words:
        return f"name a stage ({_names(config)})"
    project = find_project(config, words[0])
    if project is not None and len(words) > 1:
        found = find_stage(project, words[1], waves)
        if found is not None:
            return StageRef(project.name, found), 2
        if (wave := _a_wave(project, words[1])) is not None:
            return wave
    by_name = by_stage_name(config, words[0], waves)
    if isinstance(by_name, StageRef):
        return by_name, 1
    if isinstance(by_name, str):
        return by_name
    for each in config.projects:
        if (wave := _a_wave(each, words[0])) is not None:
            return wave
    if project is not None:
        stages = ", ".join(project.stage_names)
        if len(words) > 1:
            return f"project {project.name} has no stage {shown(words[1])} (it has {stages})"
        return f"name a stage of {project.name} ({stages})"
    return unknown(config, words[0])


def optional_stage(
    config: DeploybotConfig, words: list[str], waves: bool = False
) -> tuple[str | None, str | None, int] | str:
    """`[project] [stage]`: (project, stage, words taken); None where left out."""
    if not words:
        only = config.projects[0].name if len(config.projects) == 1 else None
        return only, None, 0
    project = find_project(config, words[0])
    if project is not None and len(words) == 1:
        return project.name, None, 1
    resolved = stage(config, words, waves)
    if isinstance(resolved, str):
        return resolved
    ref, taken = resolved
    return ref.project, ref.stage, taken
