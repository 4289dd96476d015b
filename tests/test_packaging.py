"""The files that package and ship deploybot agree with the code and with each other.

- requirements.txt (what buildpacks and the Dockerfile install) and requirements-dev.txt (what
  scripts/setup installs) are the lock: pinned by uv from pyproject.toml, and re-made whenever a
  dependency there changes (the command is in their headers);
- the Dockerfile copies files that exist, installs the lock, runs `deploybot serve` on the port
  it exposes and checks the /healthz the bot serves there;
- compose.yaml gives the bot only settings it reads, every one `serve` needs, and wires the
  rehearsal (simulator, Slack stand-in) to the URLs, ports and secrets the bot is given;
- the Procfile's web process listens on all interfaces;
- a `rediss://` REDIS_URL with `?ssl_cert_reqs=none` (Heroku's Redis) reaches redis-py.

Nothing here needs a network, a container runtime or a Redis server.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import ssl
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
import yaml
from aiohttp import web
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from bot.cli import _parser as cli_parser
from bot.config.loader import load_config
from bot.http import ops
from bot.http.semaphore import ROUTE as WEBHOOK_ROUTE
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.standins.slack_main import _parser as slack_parser
from bot.store.redis import redis_client
from semaphore_client.simulator.__main__ import _parser as simulator_parser
from semaphore_client.simulator.server import Simulator
from semaphore_client.simulator.world import default_world

ROOT = Path(__file__).resolve().parents[1]
RELOCK = "re-lock: run the command in the header of requirements.txt"


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


# --- the lock -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    requirement: Requirement
    #: The names in uv's `# via` annotation ("deploybot" for a direct dependency).
    via: frozenset[str]

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)

    @property
    def version(self) -> Version | None:
        specs = list(self.requirement.specifier)
        if len(specs) == 1 and specs[0].operator == "==":
            return Version(specs[0].version)
        return None


@dataclass(frozen=True)
class Lock:
    pins: dict[str, Pin]
    #: Lines that are not pins: "." (the project itself), options.
    others: list[str]


def parse_lock(text: str) -> Lock:
    pins: dict[str, Pin] = {}
    others: list[str] = []
    for line in text.splitlines():
        content, _, comment = line.partition("#")
        content = content.strip()
        if not content:
            continue
        if content.startswith(("-", ".")):
            others.append(content)
            continue
        requirement = Requirement(content)
        via = comment.strip().removeprefix("via ").split(", ") if comment else []
        names = frozenset(canonicalize_name(v.split(" ")[0]) for v in via if v and v[0] != "-")
        pins[canonicalize_name(requirement.name)] = Pin(requirement, names)
    return Lock(pins, others)


def lock_problems(pyproject: dict[str, Any], runtime: str, dev: str) -> list[str]:
    """What is wrong with requirements.txt (`runtime`) and requirements-dev.txt (`dev`) as the
    lock of `pyproject`; nothing when they are in sync."""
    project = pyproject["project"]
    name = canonicalize_name(project["name"])
    direct = [Requirement(r) for r in project["dependencies"]]
    dev_direct = [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    runtime_lock, dev_lock = parse_lock(runtime), parse_lock(dev)
    problems: list[str] = []

    def check(requirement: Requirement, lock: Lock, file: str) -> None:
        pin = lock.pins.get(canonicalize_name(requirement.name))
        if pin is None or pin.version is None:
            problems.append(f"{requirement} (pyproject.toml) has no pin in {file}")
        elif pin.version not in requirement.specifier:
            problems.append(f"{file} pins {pin.requirement}, outside {requirement}")

    for requirement in direct:
        check(requirement, runtime_lock, "requirements.txt")
        check(requirement, dev_lock, "requirements-dev.txt")
    for requirement in dev_direct:
        check(requirement, dev_lock, "requirements-dev.txt")
    wanted = {canonicalize_name(r.name) for r in direct}
    for pin in runtime_lock.pins.values():
        if pin.version is None:
            problems.append(f"requirements.txt: {pin.requirement} is not pinned with ==")
        if name in pin.via and pin.name not in wanted:
            problems.append(
                f"requirements.txt pins {pin.name} for deploybot, which no longer needs it"
            )
        twin = dev_lock.pins.get(pin.name)
        if twin is None or twin.requirement != pin.requirement:
            problems.append(
                f"requirements.txt has {pin.requirement}, requirements-dev.txt {twin and twin.requirement}"
            )
    if "." not in runtime_lock.others:
        problems.append("requirements.txt does not install the project itself (a line '.')")
    return problems


def test_the_lock_is_in_sync_with_pyproject() -> None:
    runtime = (ROOT / "requirements.txt").read_text()
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert lock_problems(_pyproject(), runtime, dev) == [], RELOCK
    command = _pyproject()["tool"]["uv"]["pip"]["custom-compile-command"]
    for text in (runtime, dev):
        assert text.splitlines()[1] == f"#    {command}", "the header tells how to re-lock"


def _new_problems(change: Callable[[dict[str, Any]], None]) -> list[str]:
    """What `lock_problems` says of pyproject.toml after `change`, and not before."""
    runtime = (ROOT / "requirements.txt").read_text()
    dev = (ROOT / "requirements-dev.txt").read_text()
    before = lock_problems(_pyproject(), runtime, dev)
    pyproject = _pyproject()
    change(pyproject)
    return [p for p in lock_problems(pyproject, runtime, dev) if p not in before]


def test_a_dependency_added_or_tightened_without_relocking_is_caught() -> None:
    def change(pyproject: dict[str, Any]) -> None:
        pyproject["project"]["dependencies"].append("not-locked-yet>=1")
        pyproject["project"]["dependencies"][0] = "slack-bolt>=99"

    bolt = parse_lock((ROOT / "requirements.txt").read_text()).pins["slack-bolt"].requirement
    assert _new_problems(change) == [
        f"requirements.txt pins {bolt}, outside slack-bolt>=99",
        f"requirements-dev.txt pins {bolt}, outside slack-bolt>=99",
        "not-locked-yet>=1 (pyproject.toml) has no pin in requirements.txt",
        "not-locked-yet>=1 (pyproject.toml) has no pin in requirements-dev.txt",
    ]


def test_a_dependency_removed_without_relocking_is_caught() -> None:
    def change(pyproject: dict[str, Any]) -> None:
        deps = pyproject["project"]["dependencies"]
        deps[:] = [r for r in deps if not r.startswith("holidays")]

    assert _new_problems(change) == [
        "requirements.txt pins holidays for deploybot, which no longer needs it"
    ]


def test_heroku_and_the_image_run_the_python_that_pyproject_asks_for() -> None:
    wanted = (ROOT / ".python-version").read_text().strip()
    assert re.fullmatch(r"3\.\d+", wanted), "a minor version, so patch releases come in"
    assert Version(wanted) in SpecifierSet(_pyproject()["project"]["requires-python"])
    for stage in _dockerfile().stages:
        assert stage.startswith(f"python:{wanted}-slim"), stage


def test_the_licence_is_mit() -> None:
    assert _pyproject()["project"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the deploybot authors" in text


# --- the Dockerfile ------------------------------------------------------------------------


@dataclass
class Dockerfile:
    #: (instruction, arguments), continuation lines joined, comments dropped.
    lines: list[tuple[str, str]]

    @property
    def stages(self) -> list[str]:
        return [args.split()[0] for op, args in self.lines if op == "FROM"]

    def last(self, op: str) -> str:
        return [args for o, args in self.lines if o == op][-1]

    def final_stage(self) -> list[tuple[str, str]]:
        start = max(i for i, (op, _) in enumerate(self.lines) if op == "FROM")
        return self.lines[start:]


def _dockerfile() -> Dockerfile:
    text = (ROOT / "Dockerfile").read_text()
    kept = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    logical = "\n".join(kept).replace("\\\n", " ")
    lines = []
    for line in logical.splitlines():
        if line.strip():
            op, _, args = line.strip().partition(" ")
            lines.append((op.upper(), " ".join(args.split())))
    return Dockerfile(lines)


def _copied_sources(dockerfile: Dockerfile) -> list[str]:
    sources = []
    for op, args in dockerfile.lines:
        words = args.split()
        if op in {"COPY", "ADD"} and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[:-1] if not w.startswith("--")]
    return sources


def test_every_file_the_dockerfile_copies_is_in_the_build_context() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = _copied_sources(_dockerfile())
    assert {"requirements.txt", "bot", "semaphore_client", "pyproject.toml"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which does not exist"
        hits = [p for p in ignored if fnmatch.fnmatch(source, p.rstrip("/"))]
        assert not hits, f".dockerignore leaves {source} out of the build context ({hits})"
    # The package's build reads these too (readme, licence): the wheel stage copies them.
    assert {"README.md", "LICENSE"} <= set(sources)


def test_the_locked_dependencies_are_installed_before_the_source_is_copied() -> None:
    final = _dockerfile().final_stage()
    install = next(i for i, (op, a) in enumerate(final) if op == "RUN" and "--requirement" in a)
    copied = [a.split()[0] for op, a in final[:install] if op == "COPY"]
    assert copied == ["requirements.txt"], "the source comes after: a cached dependency layer"
    assert "--no-deps" in next(a for op, a in final[install + 1 :] if op == "RUN")


def _cmd(dockerfile: Dockerfile) -> list[str]:
    cmd = json.loads(dockerfile.last("CMD"))
    assert isinstance(cmd, list)
    return [str(word) for word in cmd]


def test_the_image_serves_on_all_interfaces_on_the_port_it_exposes() -> None:
    dockerfile = _dockerfile()
    cmd = _cmd(dockerfile)
    assert cmd[0] == "deploybot"
    args = cli_parser().parse_args(cmd[1:])
    assert args.command == "serve"
    assert args.host == "0.0.0.0", "inside a container, 127.0.0.1 is unreachable from outside"
    assert dockerfile.last("EXPOSE") == str(args.port) == "8080"


def test_the_image_runs_as_an_unprivileged_user() -> None:
    user = _dockerfile().last("USER").split(":")[0]
    assert user.isdigit() and int(user) != 0


def test_the_healthcheck_asks_the_bots_healthz_on_its_port() -> None:
    dockerfile = _dockerfile()
    check = dockerfile.last("HEALTHCHECK")
    command = json.loads(check[check.index("CMD ") + len("CMD ") :])
    assert command[:2] == ["python", "-c"], "the slim image has no curl"
    url = re.search(r"http://[^'\"]+", command[2])
    assert url is not None
    parts = urlsplit(url.group(0))
    assert parts.hostname == "127.0.0.1"
    assert parts.port == cli_parser().parse_args(_cmd(dockerfile)[1:]).port
    app = web.Application()
    ops.register(app, None)  # type: ignore[arg-type]  # routes only
    assert parts.path in {r.canonical for r in app.router.resources()}


# --- compose.yaml --------------------------------------------------------------------------

#: compose variables that are not the bot's settings: none yet (PORT would be one).
NOT_SETTINGS: set[str] = set()
#: What `deploybot serve` needs to be a Slack bot that takes Semaphore webhooks and keeps state.
SERVE_NEEDS = {
    "DEPLOYBOT_CONFIG",
    "SEMAPHORE_API_TOKEN",
    "SEMAPHORE_WEBHOOK_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "REDIS_URL",
}
BOTS = ("deploybot", "deploybot-rehearsal")


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _service(name: str) -> dict[str, Any]:
    service = _compose()["services"][name]
    assert isinstance(service, dict)
    return service


def _environment(name: str) -> dict[str, str | None]:
    env = _service(name)["environment"]
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {str(k): None if v is None else str(v) for k, v in env.items()}


def _published(name: str) -> list[tuple[int, int]]:
    ports = _service(name)["ports"]
    assert all(isinstance(p, str) for p in ports), "quote ports: YAML reads 1:30 as a number"
    return [(int(host), int(target)) for host, target in (p.split(":") for p in ports)]


def _mounts(name: str) -> dict[str, str]:
    """target: source of a service's bind mounts."""
    mounts = {}
    for volume in _service(name).get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        mounts[target] = source
    return mounts


def test_compose_runs_redis_with_an_append_only_file_on_a_named_volume() -> None:
    compose = _compose()
    redis = compose["services"]["redis"]
    assert redis["image"].startswith("redis:")
    assert redis["command"] == ["redis-server", "--appendonly", "yes"]
    volume = redis["volumes"][0].split(":")
    assert volume[1] == "/data" and volume[0] in compose["volumes"]


def test_the_live_bot_and_the_rehearsal_never_run_together() -> None:
    compose = _compose()
    assert _service("deploybot")["profiles"] == ["live"]
    for name in ("deploybot-rehearsal", "semaphore", "slack"):
        assert _service(name)["profiles"] == ["rehearsal"], name
    for name, service in compose["services"].items():
        for dependency in service.get("depends_on", {}):
            assert dependency in compose["services"], f"{name} depends on {dependency}"
            needed = compose["services"][dependency].get("profiles")
            assert needed is None or needed == service.get("profiles"), (name, dependency)


@pytest.mark.parametrize("name", BOTS)
def test_compose_gives_the_bot_only_settings_it_reads_and_all_it_needs(name: str) -> None:
    env = _environment(name)
    settings = {field.upper() for field in Settings.model_fields}
    assert set(env) - settings - NOT_SETTINGS == set(), "the bot reads no such variable"
    assert SERVE_NEEDS - set(env) == set(), "serve needs these"
    assert {"SEMAPHORE_ORG", "SEMAPHORE_API_URL"} & set(env)
    redis = urlsplit(str(env["REDIS_URL"]))
    assert redis.hostname == "redis" and (redis.port or 6379) == 6379


@pytest.mark.parametrize("name", BOTS)
def test_compose_publishes_the_port_the_image_serves_and_mounts_the_config(name: str) -> None:
    dockerfile = _dockerfile()
    port = cli_parser().parse_args(_cmd(dockerfile)[1:]).port
    assert "command" not in _service(name), "the image's CMD: deploybot serve"
    assert [target for _, target in _published(name)] == [port]
    config = _environment(name)["DEPLOYBOT_CONFIG"]
    assert config in _mounts(name), f"nothing is mounted at DEPLOYBOT_CONFIG={config}"


def _strings(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in _strings(key) + _strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return [node] if isinstance(node, str) else []


def test_compose_needs_no_variable_to_start() -> None:
    """Compose checks a `${VAR:?}` wherever it is, in every service and profile: one would stop
    the rehearsal for want of the live bot's secrets. The live bot's are passed through instead
    ("VAR:" with no value): given to the container only when set, so that the bot's own default
    applies, or its refusal names what is missing."""
    required = [value for value in _strings(_compose()) if re.search(r"\$\{[^}]*\?", value)]
    assert required == []
    env = _environment("deploybot")
    assert [name for name in SERVE_NEEDS - {"DEPLOYBOT_CONFIG", "REDIS_URL"} if env[name]] == []


def _command(name: str, prefix: list[str]) -> list[str]:
    command = _service(name)["command"]
    assert all(isinstance(word, str) for word in command), "quote them: YAML reads yes as true"
    assert command[: len(prefix)] == prefix
    return [str(word) for word in command[len(prefix) :]]


def test_the_rehearsal_wires_the_simulator_to_the_bot() -> None:
    sim = simulator_parser().parse_args(
        _command("semaphore", ["python", "-m", "semaphore_client.simulator"])
    )
    env = _environment("deploybot-rehearsal")
    assert sim.host == "0.0.0.0"
    assert [target for _, target in _published("semaphore")] == [sim.port]
    api = Simulator(default_world(), host="semaphore", port=sim.port).base_url
    assert env["SEMAPHORE_API_URL"] == api
    assert env["SEMAPHORE_API_TOKEN"] == sim.token
    bot_port = _published("deploybot-rehearsal")[0][1]
    assert sim.webhook_url == f"http://deploybot-rehearsal:{bot_port}{WEBHOOK_ROUTE}"
    assert env["SEMAPHORE_WEBHOOK_SECRET"] == sim.webhook_secret
    assert f"{sim.port})" in " ".join(_service("semaphore")["healthcheck"]["test"])


def test_the_rehearsal_wires_the_slack_stand_in_to_the_bot() -> None:
    slack = slack_parser().parse_args(_command("slack", ["python", "-m", "bot.standins.slack"]))
    env = _environment("deploybot-rehearsal")
    assert slack.host == "0.0.0.0"
    assert [target for _, target in _published("slack")] == [slack.port]
    assert env["SLACK_API_URL"] == f"http://slack:{slack.port}/api/"
    assert f"{slack.port})" in " ".join(_service("slack")["healthcheck"]["test"])


async def test_the_rehearsal_settings_make_a_whole_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rehearsal bot's environment, as the bot reads it: Slack and Semaphore wired, its
    configuration (the mounted file) valid. Built, never started: no network is used."""
    env = _environment("deploybot-rehearsal")
    for name in {field.upper() for field in Settings.model_fields}:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        assert value is not None, f"the rehearsal needs no credentials: give {name} a value"
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.deploybot_config is not None
    config = load_config(ROOT / _mounts("deploybot-rehearsal")[str(settings.deploybot_config)])
    runtime = build_runtime(settings, config)
    try:
        assert runtime.slack is not None
        assert runtime.settings.semaphore_base_url == env["SEMAPHORE_API_URL"]
        assert runtime.store.persistent
    finally:
        await runtime.stop()


def test_services_that_do_not_serve_healthz_override_the_images_healthcheck() -> None:
    for name, service in _compose()["services"].items():
        if service.get("image") == _service("deploybot")["image"] and "command" in service:
            assert "test" in service.get("healthcheck", {}), (
                f"{name} would inherit the image's /healthz check and stay unhealthy"
            )


# --- the Procfile, and Redis over TLS (Heroku) ---------------------------------------------


def test_the_procfile_web_process_listens_on_all_interfaces_on_port() -> None:
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    words = shlex.split(procfile["web"].replace("$PORT", "5000"))
    while re.fullmatch(r"[A-Z_]+=.*", words[0]):  # REDIS_URL="${REDIS_URL}?..." deploybot ...
        words.pop(0)
    assert words[0] == "deploybot"
    args = cli_parser().parse_args(words[1:])
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 5000)


async def test_a_rediss_url_may_turn_certificate_checks_off() -> None:
    """Heroku's Redis presents a self-signed certificate: `?ssl_cert_reqs=none` in REDIS_URL
    reaches redis-py (TLS stays on, the certificate is not verified)."""
    url = "rediss://:secret@ec2-1-2-3-4.compute-1.amazonaws.com:12345/0?ssl_cert_reqs=none"
    setting = Settings(redis_url=url).redis_url
    assert setting is not None and setting.get_secret_value() == url  # as bot.bootstrap reads it
    client = redis_client(setting.get_secret_value())
    try:
        pool = client.connection_pool
        assert issubclass(pool.connection_class, aioredis.SSLConnection)
        assert pool.connection_kwargs["ssl_cert_reqs"] == "none"
        connection = pool.make_connection()
        assert isinstance(connection, aioredis.SSLConnection)
        assert connection.ssl_context.cert_reqs == ssl.CERT_NONE
        assert connection.ssl_context.check_hostname is False
        assert (connection.host, connection.port) == ("ec2-1-2-3-4.compute-1.amazonaws.com", 12345)
    finally:
        await client.aclose()


async def test_a_rediss_url_verifies_certificates_by_default() -> None:
    client = redis_client("rediss://:secret@redis.example.com:6380/0")
    try:
        connection = client.connection_pool.make_connection()
        assert isinstance(connection, aioredis.SSLConnection)
        assert connection.ssl_context.cert_reqs == ssl.CERT_REQUIRED
    finally:
        await client.aclose()
