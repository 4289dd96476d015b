"""Settings from the environment, secrets kept out of logs, and the composition root."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.bootstrap import NOT_PERSISTED, build_stage_service, build_stores
from bot.config.loader import load_config
from bot.settings import Settings
from bot.store import MemoryStore, RedisStore
from bot.store.inbox import RedisInbox

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "deploybot.yml"
SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-secret-bot-token",
    "SLACK_SIGNING_SECRET": "signing-secret-value",
    "SLACK_APP_TOKEN": "xapp-secret-app-token",
    "SEMAPHORE_API_TOKEN": "semaphore-secret-token",
    "SEMAPHORE_WEBHOOK_SECRET": "webhook-secret-value",
    "REDIS_URL": "redis://:redis-password@redis.internal:6380/2",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SEMAPHORE_ORG", "acme")
    monkeypatch.setenv("DEPLOYBOT_CONFIG", str(EXAMPLE))


def test_settings_are_read_by_their_documented_names(environment: None) -> None:
    settings = Settings()
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-secret-bot-token"
    assert settings.deploybot_config == EXAMPLE
    assert settings.semaphore_base_url == "https://acme.semaphoreci.com/api/v1alpha"


def test_semaphore_api_url_overrides_the_organisation(
    environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEMAPHORE_API_URL", "http://127.0.0.1:9999/api/v1alpha/")
    assert Settings().semaphore_base_url == "http://127.0.0.1:9999/api/v1alpha"


def test_no_secret_appears_in_repr_str_or_logs(
    environment: None, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings()
    with caplog.at_level(logging.DEBUG, logger="deploybot"):
        logging.getLogger("deploybot").info("settings: %s %r", settings, settings)
        build_stores(settings)
    shown = f"{settings!r} {settings!s} {caplog.text}"
    for secret in SECRETS.values():
        assert secret not in shown
    assert "redis-password" not in shown
    assert "redis.internal:6380" in caplog.text  # the host is still shown, for operators


def test_without_redis_url_the_embedded_store_is_used_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    with caplog.at_level(logging.WARNING):
        store, _ = build_stores(Settings())
    assert isinstance(store, MemoryStore) and not store.persistent
    assert NOT_PERSISTED in caplog.text


@pytest.mark.redis
async def test_with_redis_url_state_goes_to_redis(
    redis_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server)
    store, inbox = build_stores(Settings())
    try:
        assert isinstance(store, RedisStore) and store.persistent
        assert isinstance(inbox, RedisInbox)
        assert await store.ping()
        stages = build_stage_service(load_config(EXAMPLE), store)
        assert [p.stage for p in stages.following("shop", "beta")] == ["gamma"]
    finally:
        await store.close()


def test_python_dash_m_bot_is_the_deploybot_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "3 projects, 10 stages" in result.stdout
    script = Path(sys.executable).parent / "deploybot"
    assert script.exists(), "the deploybot console script is installed with the package"
    same = subprocess.run(
        [str(script), "check-config", str(EXAMPLE)], capture_output=True, text=True, check=False
    )
    assert same.stdout == result.stdout


def test_a_redis_password_given_as_a_query_parameter_is_masked_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "rediss://redis.internal:6380/0?password=hunter2&ssl=true")
    shown = Settings().redis_url_for_logs or ""
    assert "hunter2" not in shown
    assert "redis.internal:6380" in shown and "password=%2A%2A%2A" in shown


@pytest.mark.parametrize("name", ["SLACK_SIGNING_SECRET", "SEMAPHORE_WEBHOOK_SECRET"])
@pytest.mark.parametrize("blank", ["", "   "])
def test_serve_refuses_a_blank_signing_secret_with_a_sentence(name: str, blank: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEMAPHORE_", "SLACK_"))}
    env.update({"DEPLOYBOT_CONFIG": str(EXAMPLE), "SEMAPHORE_ORG": "acme",
                "SEMAPHORE_API_TOKEN": "t", name: blank})  # fmt: skip
    env.pop("REDIS_URL", None)
    result = subprocess.run([sys.executable, "-m", "bot", "serve"], env=env, capture_output=True,
                            text=True, timeout=30, check=False)  # fmt: skip
    assert result.returncode == 2
    assert f"{name} is empty or blank" in result.stderr and "Traceback" not in result.stderr
