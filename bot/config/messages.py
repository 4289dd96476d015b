"""pydantic's validation errors as plain sentences, each prefixed with the path to the field."""

from __future__ import annotations

import difflib
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bot.config.checks import Loc, format_loc
from bot.config.models import DeploybotConfig

DATETIME_EXAMPLE = "e.g. '2026-12-20 09:00' or '2026-12-20T09:00:00+01:00'"


def problems(error: ValidationError) -> list[tuple[Loc, str]]:
    """Each problem's location and sentence, without repeats."""
    found = [(err["loc"], sentence(err)) for err in error.errors()]
    return list(dict.fromkeys(found))


def path(loc: Loc) -> str:
    return format_loc(loc) or "top level"


def sentence(err: ErrorDetails) -> str:
    kind, value, ctx = err["type"], err["input"], err.get("ctx", {})
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"]))
    if kind == "missing":
        return "missing (this key is required)"
    if kind == "extra_forbidden":
        return _unknown_key(err["loc"])
    if kind in ("string_type", "str_type"):
        return f"expected text, got {_describe(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {_describe(value)}"
    if kind in ("list_type", "tuple_type", "iterable_type"):
        return f"expected a list, got {_describe(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        return f"expected a mapping of keys to values, got {_describe(value)}"
    if kind == "too_short":
        return "must not be empty"
    if kind in ("enum", "literal_error"):
        return f"{value!r} is not one of {ctx.get('expected', '')}"
    if kind.startswith(("datetime_", "date_")):
        return f"{value!r} is not a date and time ({DATETIME_EXAMPLE})"
    message = err["msg"].removeprefix("Input should be ")
    return message if message == err["msg"] else f"should be {message}"


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _unknown_key(loc: Loc) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    if model is None:
        return f"unknown key {key!r}"
    allowed = list(model.model_fields)
    guess = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {guess[0]!r}?)" if guess else ""
    return f"unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}"


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model that validates the mapping at `loc` (list indexes step into the items)."""
    model: type[BaseModel] | None = DeploybotConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        model = _inner_model(model.model_fields[part].annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType, tuple, list) or get_args(annotation):
        for arg in get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None
