"""Secrets and endpoints from the environment (12-factor), by the names in DESIGN.md section 5.

Secrets are `SecretStr`: they print as '**********' in reprs, logs and tracebacks. The Redis URL
may carry a password, so it is secret too; `redis_url_for_logs` shows it with the password
masked.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_API_URL = "https://slack.com/api/"
#: Secrets that sign or authenticate requests: blank is refused at start.
SIGNING_SECRETS = ("slack_signing_secret", "semaphore_webhook_secret", "alertmanager_token",
                   "metrics_token")  # fmt: skip


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    semaphore_org: str | None = None
    semaphore_api_token: SecretStr | None = None
    semaphore_webhook_secret: SecretStr | None = None
    redis_url: SecretStr | None = None
    #: `REDIS_CLUSTER=true`: REDIS_URL names one node of a Redis Cluster.
    redis_cluster: bool = False
    deploybot_config: Path | None = None
    slack_api_url: str = SLACK_API_URL
    semaphore_api_url: str | None = None
    #: Alertmanager authenticates with `Authorization: Bearer <token>` (or basic auth whose
    #: password is the token); without it, /alerts/alertmanager answers 503.
    alertmanager_token: SecretStr | None = None
    #: When set, /metrics needs `Authorization: Bearer <token>`.
    metrics_token: SecretStr | None = None

    @property
    def semaphore_base_url(self) -> str | None:
        """`SEMAPHORE_API_URL`, else the organisation's API on semaphoreci.com."""
        if self.semaphore_api_url:
            return self.semaphore_api_url.rstrip("/")
        if self.semaphore_org:
            return f"https://{self.semaphore_org}.semaphoreci.com/api/v1alpha"
        return None

    @property
    def semaphore_web_url(self) -> str | None:
        """Where people open Semaphore's pages: the API URL without `/api/v1alpha` (a
        self-hosted install), else `https://ORG.semaphoreci.com`."""
        base = self.semaphore_base_url
        if base is None:
            return None
        return base.removesuffix("/api/v1alpha").rstrip("/")

    @field_validator(*SIGNING_SECRETS)
    @classmethod
    def _not_blank(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """A blank secret would make every signature check meaningless or fail: refuse it."""
        if value is not None and not value.get_secret_value().strip():
            name = (info.field_name or "the secret").upper()
            raise ValueError(f"{name} is empty or blank: set it to the real secret, or unset it")
        return value

    @property
    def redis_url_for_logs(self) -> str | None:
        """REDIS_URL with any password masked: before the `@`, and in `?password=`."""
        if self.redis_url is None:
            return None
        parts = urlsplit(self.redis_url.get_secret_value())
        query = urlencode(
            [(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(parts.query)]
        )
        parts = parts._replace(query=query)
        if parts.password is None:
            return parts.geturl()
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
