"""The configuration's one exception.

ConfigError: the file cannot be read or is not a valid configuration; `problems` holds
    one line per problem, each starting with where it is (a field path such as
    `projects[0].stages[2].windows[0]`, a YAML line and column, or the file itself).
"""

from __future__ import annotations

from bot.errors import DeploybotError


class ConfigError(DeploybotError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
