"""Fixtures of the Slack tests (helpers live in `tests/slack/support.py`)."""

from __future__ import annotations

import pytest

from bot.config.models import DeploybotConfig
from tests.slack.support import one_project, two_projects


@pytest.fixture(scope="session")
def config() -> DeploybotConfig:
    return two_projects()


@pytest.fixture(scope="session")
def single() -> DeploybotConfig:
    return one_project()
