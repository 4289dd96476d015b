"""What `deploybot dev` prints: where everything runs and lines to paste into a shell.

Pure: a `Rehearsal` (addresses, throwaway secrets, the configuration) in, lines out. The
signed `/deploy` line computes its timestamp and signature when it is run, since Slack's
signatures go stale after five minutes (`openssl` does the HMAC-SHA256); the alert lines put
the current time in `startsAt`, so an alarm fired, resolved and fired again is a new alarm.
"""

from __future__ import annotations

import json
import secrets
import shlex
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.config.models import DeploybotConfig, ProjectConfig
from bot.standins.slack import TEAM

#: The response_url of the printed /deploy line: replies are recorded as `response:curl`.
RESPONSE_NAME = "curl"
READY = "Ctrl-C stops everything."
#: In a JSON body, a placeholder for the shell's current UTC time.
_NOW = "@NOW@"


@dataclass(frozen=True)
class Secrets:
    """Generated for one run, local and thrown away with it."""

    slack_signing_secret: str
    slack_bot_token: str
    semaphore_api_token: str
    semaphore_webhook_secret: str
    alertmanager_token: str

    @classmethod
    def generate(cls) -> Secrets:
        return cls(
            slack_signing_secret=secrets.token_hex(16),
            slack_bot_token=f"xoxb-dev-{secrets.token_hex(8)}",
            semaphore_api_token=f"dev-{secrets.token_hex(12)}",
            semaphore_webhook_secret=secrets.token_hex(16),
            alertmanager_token=secrets.token_hex(16),
        )


@dataclass(frozen=True)
class Rehearsal:
    bot: str
    slack: str
    semaphore: str
    semaphore_api: str
    secrets: Secrets
    config_path: str
    config: DeploybotConfig
    #: Where state lives, as it may be shown (a Redis URL's password masked).
    store: str


def lines(run: Rehearsal) -> list[str]:
    project = run.config.projects[0]
    user = speaker(run.config)
    stage = project.stages[-1].name
    key = run.secrets
    return [
        f"deploybot dev: the bot, a Semaphore simulator and a Slack stand-in on loopback "
        f"(config {run.config_path}; state {run.store}).",
        "",
        f"  bot              {run.bot}   (health: {run.bot}/healthz)",
        f"  Slack viewer     {run.slack}/   what the bot posted, newest first "
        f"(JSON: {run.slack}/_standin/calls)",
        f"  Semaphore API    {run.semaphore_api}   (control: {run.semaphore}/_sim/)",
        "",
        f"This run's secrets (throwaway): SLACK_SIGNING_SECRET={key.slack_signing_secret} "
        f"SEMAPHORE_WEBHOOK_SECRET={key.semaphore_webhook_secret} "
        f"SEMAPHORE_API_TOKEN={key.semaphore_api_token} "
        f"ALERTMANAGER_TOKEN={key.alertmanager_token}",
        "",
        f"/deploy status, signed as Slack signs it, from {user} in {project.channel} "
        "(the reply appears in the viewer):",
        "  " + deploy_curl(run, "status", user, project.channel),
        f"  Another command: change text=status in body (spaces as +), e.g. "
        f"text=block+{stage}+Investigating.",
        "",
        f"Push a commit to {project.branch} (CI runs, then the bot deploys it stage by stage; "
        "watch the viewer):",
        "  " + push_curl(run, project),
        "",
        f"Alertmanager: fire an alarm on {stage}, then resolve it:",
        "  " + alert_curl(run, project, stage, "firing"),
        "  " + alert_curl(run, project, stage, "resolved"),
        "",
        READY,
    ]


def speaker(config: DeploybotConfig) -> str:
    """Who types the printed command: the first person (not group) who may block."""
    roles = config.roles
    for user in (*roles.block, *roles.approve, *roles.emergency):
        if user[:1] in ("U", "W"):
            return user
    return "U0DEV"


def command_body(run: Rehearsal, text: str, user: str, channel: str) -> str:
    """A slash command's form body, as Slack POSTs it."""
    form = {
        "token": "dev",
        "team_id": TEAM,
        "team_domain": "deploybot",
        "channel_id": channel,
        "channel_name": "dev",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/deploy",
        "text": text,
        "response_url": f"{run.slack}/response/{RESPONSE_NAME}",
        "trigger_id": "dev",
    }
    return urlencode(form)


def deploy_curl(run: Rehearsal, text: str, user: str, channel: str) -> str:
    body = command_body(run, text, user, channel)
    secret = shlex.quote(run.secrets.slack_signing_secret)
    return (
        f"ts=$(date +%s); body={shlex.quote(body)}; "
        f'sig=v0=$(printf \'v0:%s:%s\' "$ts" "$body" | openssl dgst -sha256 -hmac {secret} -r '
        "| cut -d' ' -f1); "
        f'curl -sS -X POST {run.bot}/slack/events -H "X-Slack-Request-Timestamp: $ts" '
        '-H "X-Slack-Signature: $sig" --data "$body" -w \'\\nHTTP %{http_code}\\n\''
    )


def push_curl(run: Rehearsal, project: ProjectConfig) -> str:
    body = {
        "project": project.semaphore_project,
        "branch": project.branch,
        "commit_message": "Try deploybot dev",
    }
    return _post_json(f"{run.semaphore}/_sim/push", body)


def alert_curl(run: Rehearsal, project: ProjectConfig, stage: str, status: str) -> str:
    """A minimal Alertmanager (version 4) notification with one alert for `stage`, which
    started now (the shell puts the time in)."""
    alert = {
        "status": status,
        "labels": {
            "alertname": "DevAlarm",
            "deploybot_project": project.name,
            "deploybot_stage": stage,
        },
        "annotations": {"summary": f"error rate on {stage} above 5% (deploybot dev)"},
        "startsAt": _NOW,
        "fingerprint": f"dev-{project.name}-{stage}",
    }
    body = {"version": "4", "status": status, "receiver": "deploybot", "alerts": [alert]}
    auth = shlex.quote(f"Authorization: Bearer {run.secrets.alertmanager_token}")
    return _post_json(f"{run.bot}/alerts/alertmanager", body, f"-H {auth} ")


def _post_json(url: str, body: object, headers: str = "") -> str:
    data = shlex.quote(json.dumps(body, separators=(",", ":")))
    # Close the single quotes around the time: '..."startsAt":"'"$(date ...)"'",...'
    data = data.replace(_NOW, "'\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"'")
    return (
        f"curl -sS -X POST {url} {headers}-H 'Content-Type: application/json' "
        f"--data {data} -w '\\n'"
    )
