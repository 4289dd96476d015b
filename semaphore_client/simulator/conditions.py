"""A small parser for Semaphore's ``when`` condition language.

Supported: the variables of auto-promotion/auto-cancel/queue conditions (``branch``, ``tag``,
``pull_request``, ``result``, ``result_reason``, ``commit_sha``, ``yml_file_name``,
``working_dir``, ``commit_range``, ``pr_base``, ``project_id``), single-quoted strings,
``=``, ``!=``, ``=~`` (regex search), ``!~``, ``and``, ``or``, parentheses, ``true``/``false``
(also YAML booleans). ``change_in(...)`` needs a repository and is rejected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

VARIABLES = frozenset(
    {
        "branch",
        "tag",
        "pull_request",
        "result",
        "result_reason",
        "commit_sha",
        "yml_file_name",
        "working_dir",
        "commit_range",
        "pr_base",
        "project_id",
    }
)
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<op>=~|!~|!=|=)|(?P<paren>[()])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)
Context = Mapping[str, str]
Predicate = Callable[[Context], bool]


class ConditionError(ValueError):
    """A ``when`` expression the simulator cannot parse."""


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ConditionError(f"cannot read {text[position:]!r} in condition {text!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _compare(op: str, left: str, right: str) -> bool:
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    found = re.search(right, left) is not None
    return found if op == "=~" else not found


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.index != len(self.tokens):
            raise ConditionError(f"unexpected {self.tokens[self.index][1]!r} in {self.text!r}")
        return predicate

    def _peek_word(self, *words: str) -> bool:
        if self.index >= len(self.tokens):
            return False
        kind, value = self.tokens[self.index]
        return kind == "word" and value.lower() in words

    def _next(self) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise ConditionError(f"condition ends too early: {self.text!r}")
        self.index += 1
        return self.tokens[self.index - 1]

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek_word("or"):
            self.index += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda ctx: any(p(ctx) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._primary()]
        while self._peek_word("and"):
            self.index += 1
            parts.append(self._primary())
        return parts[0] if len(parts) == 1 else (lambda ctx: all(p(ctx) for p in parts))

    def _primary(self) -> Predicate:
        kind, value = self._next()
        if kind == "paren" and value == "(":
            inner = self._or()
            if self._next() != ("paren", ")"):
                raise ConditionError(f"missing ')' in {self.text!r}")
            return inner
        if kind == "word" and value.lower() in ("true", "false"):
            constant = value.lower() == "true"
            return lambda _ctx: constant
        self.index -= 1
        left = self._operand()
        op_kind, op = self._next()
        if op_kind != "op":
            raise ConditionError(f"expected a comparison after {left!r} in {self.text!r}")
        right = self._operand()
        return lambda ctx: _compare(op, _value(left, ctx), _value(right, ctx))

    def _operand(self) -> tuple[str, str]:
        kind, value = self._next()
        if kind == "string":
            return ("literal", value[1:-1].replace("\\'", "'"))
        if kind == "word" and value == "change_in":
            raise ConditionError("change_in() needs a repository; the simulator has none")
        if kind == "word" and value in VARIABLES:
            return ("variable", value)
        raise ConditionError(f"unknown term {value!r} in {self.text!r}")


def _value(operand: tuple[str, str], ctx: Context) -> str:
    kind, value = operand
    return value if kind == "literal" else ctx.get(value, "")


@dataclass(frozen=True)
class Condition:
    """A parsed ``when``; call :meth:`holds` with the evaluation context."""

    source: str
    predicate: Predicate

    def holds(self, context: Context) -> bool:
        return self.predicate(context)


def parse_condition(when: str | bool) -> Condition:
    if isinstance(when, bool):
        return Condition(str(when).lower(), lambda _ctx: when)
    if not when.strip():
        raise ConditionError("empty condition")
    return Condition(when, _Parser(when).parse())
