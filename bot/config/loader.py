"""Reading the YAML configuration file, and the `check-config` command.

Every problem becomes one line in `ConfigError.problems`; nothing here raises anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.config.checks import Loc
from bot.config.errors import ConfigError
from bot.config.messages import path as loc_path
from bot.config.messages import problems as validation_problems
from bot.config.models import DeploybotConfig, StageConfig


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that records keys given twice in one mapping (PyYAML keeps the last)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.repeated: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int) and key in seen:
                mark = key_node.start_mark
                self.repeated.append(
                    f"line {mark.line + 1}, column {mark.column + 1}: key {key!r} appears twice"
                    " in the same mapping"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path) -> DeploybotConfig:
    """The validated configuration in the file at `path`, or ConfigError listing every problem."""
    file = Path(path)
    if file.is_dir():
        raise ConfigError([f"{path}: is a directory, not a configuration file"])
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: is not UTF-8 text"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    return load_config_text(text, str(path))


def load_config_text(text: str, source: str = "<config>") -> DeploybotConfig:
    """The validated configuration in YAML `text`; `source` names it in file-level problems."""
    node, data, problems = _parse_yaml(text, source)
    if data is None:
        raise ConfigError([*problems, f"{source}: is empty; it needs 'projects' and 'roles'"])
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"the value {data!r}"
        raise ConfigError(
            [
                *problems,
                f"{source}: the top level must be a mapping with 'projects' and"
                f" 'roles', not {kind}",
            ]
        )
    try:
        config = DeploybotConfig.model_validate(data)
    except ValidationError as exc:
        found = sorted(validation_problems(exc), key=lambda problem: _line(node, problem[0]))
        raise ConfigError(problems + [f"{loc_path(loc)}: {text}" for loc, text in found]) from None
    if problems:
        raise ConfigError(problems)
    return config


def _line(node: yaml.Node | None, loc: Loc) -> int:
    """The YAML line of the deepest node on `loc` that exists, so problems read top to bottom."""
    line = 0
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line
    return line


def _parse_yaml(text: str, source: str) -> tuple[yaml.Node | None, Any, list[str]]:
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else source
        what = ": ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError([f"{where}: YAML syntax error: {what}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: YAML syntax error: {exc}"]) from None
    finally:
        loader.dispose()
    return node, data, loader.repeated


def summary(path: str, config: DeploybotConfig) -> str:
    """One line: the projects, and each one's stages in order (a wave with its targets)."""
    stages = sum(len(project.steps) for project in config.projects)

    def step(stages: list[StageConfig]) -> str:
        wave = stages[0].wave
        if wave is None:
            return stages[0].name
        return f"{wave} ({', '.join(s.name.partition('/')[2] for s in stages)})"

    pipelines = "; ".join(
        f"{project.name}: {', '.join(step(s) for s in project.steps)}"
        for project in config.projects
    )
    return (
        f"{path}: ok, {_count(len(config.projects), 'project')}, {_count(stages, 'stage')}"
        f" ({pipelines})"
    )


def check_config_command(path: str) -> int:
    """`deploybot check-config FILE`: 0 and a summary line if valid, else 2 and every problem.

    The summary goes to stdout; problems go to stderr, one per line, after a count.
    """
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"{path}: {_count(len(exc.problems), 'problem')}", file=sys.stderr)
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    print(summary(path, config))
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
