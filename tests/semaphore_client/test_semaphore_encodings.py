"""Timestamps in every encoding, and enums in every casing, end up the same."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from semaphore_client import Pipeline, PipelineResult, PipelineState, ResultReason
from semaphore_client.timestamps import parse_timestamp

MOMENT = datetime(2023, 6, 7, 9, 24, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    "encoded",
    [
        "1686129844",
        1686129844,
        {"seconds": 1686129844, "nanos": 0},
        "2023-06-07 09:24:04.000000Z",
        "2023-06-07T09:24:04.000000Z",
        "2023-06-07T09:24:04Z",
    ],
)
def test_every_timestamp_encoding_means_the_same_moment(encoded: Any) -> None:
    assert parse_timestamp(encoded) == MOMENT


@pytest.mark.parametrize(
    "unset",
    [
        None,
        "",
        "0",
        {"seconds": 0, "nanos": 0},
        "1970-01-01 00:00:00.000000Z",
        "1970-01-01T00:00:00Z",
    ],
)
def test_unset_timestamps_are_none(unset: Any) -> None:
    assert parse_timestamp(unset) is None


@pytest.mark.parametrize("bad", ["yesterday", True, [1, 2]])
def test_garbage_is_not_a_timestamp(bad: Any) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(bad)


@pytest.mark.parametrize(
    ("state", "result", "reason"),
    [("done", "failed", "test"), ("DONE", "FAILED", "TEST"), (5, 3, 0)],
)
def test_enums_normalise_from_any_endpoint(state: Any, result: Any, reason: Any) -> None:
    pipeline = Pipeline.model_validate(
        {"ppl_id": "p", "state": state, "result": result, "result_reason": reason}
    )
    assert pipeline.state is PipelineState.DONE
    assert pipeline.result is PipelineResult.FAILED
    assert pipeline.result_reason is ResultReason.TEST


@given(st.integers(min_value=1, max_value=4_000_000_000), st.integers(0, 999_999))
def test_describe_and_list_encodings_agree(seconds: int, micros: int) -> None:
    moment = datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micros)
    described = moment.strftime("%Y-%m-%d %H:%M:%S.%fZ")
    listed = {"seconds": seconds, "nanos": micros * 1000}
    assert parse_timestamp(described) == parse_timestamp(listed) == moment
