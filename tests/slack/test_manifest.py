"""app_manifest.yml declares exactly what the code uses: the /deploy command, one request URL
for commands, events and interactivity (the route the server mounts), the App Home with
app_home_opened, and the bot scopes of the Web API methods the code calls."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "app_manifest.yml").read_text())
#: The bot scope each Web API method needs (none for views.*, auth.test).
SCOPES = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "usergroups_users_list": "usergroups:read",
    "views_open": None,
    "views_publish": None,
    "views_update": None,
}
CALL = re.compile(r"\.((?:chat|views|usergroups|users|conversations|reactions|files)_\w+)\(")


def methods_called() -> set[str]:
    return {m for path in (ROOT / "bot").rglob("*.py") for m in CALL.findall(path.read_text())}


def test_the_scopes_are_exactly_those_of_the_methods_called_plus_commands() -> None:
    called = methods_called()
    assert called, "no Web API call found: the pattern is wrong"
    unknown = called - set(SCOPES)
    assert not unknown, f"add these methods and their scopes to the test table: {unknown}"
    needed = {SCOPES[m] for m in called if SCOPES[m]} | {"commands"}
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed


def test_one_request_url_for_commands_events_and_interactivity_matches_the_route() -> None:
    settings = MANIFEST["settings"]
    urls = {
        MANIFEST["features"]["slash_commands"][0]["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    }
    assert len(urls) == 1
    assert urlsplit(urls.pop()).path == "/slack/events"
    assert 'add_post("/slack/events"' in (ROOT / "bot" / "slack" / "app.py").read_text()


def test_the_command_home_tab_and_event_match_the_listeners() -> None:
    [command] = MANIFEST["features"]["slash_commands"]
    assert command["command"] == "/deploy" and command["usage_hint"]
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    sources = "".join(p.read_text() for p in (ROOT / "bot" / "slack" / "listeners").glob("*.py"))
    assert '@app.command("/deploy")' in sources and '@app.event("app_home_opened")' in sources


def test_the_procfile_runs_serve_on_the_platform_port() -> None:
    assert (ROOT / "Procfile").read_text().strip() == "web: deploybot serve --port $PORT"
