"""The /_sim/ control API and the command line: clear 4xx answers, never a traceback."""

from __future__ import annotations

import asyncio
import socket
import sys

import httpx
import pytest

from semaphore_client.simulator import ManualClock, Simulator, parse_world

PAUSED = """
projects:
  - name: paused
    run_on: []
    pipelines: {.semaphore/semaphore.yml: {}}
"""


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("POST", "/_sim/push", b"{not json", 400, "Malformed request"),
        ("POST", "/_sim/push", b"[1, 2]", 400, "JSON object"),
        ("POST", "/_sim/push", b'{"project": "nope"}', 404, "unknown project 'nope'"),
        ("POST", "/_sim/push", b'{"project": "demo", "branch": 7}', 400, "branch must be"),
        (
            "POST",
            "/_sim/push",
            b'{"project": "demo", "pipeline_file": "x.yml"}',
            400,
            "unknown pipeline file",
        ),
        ("POST", "/_sim/outcomes", b'{"pipeline_file": "a.yml", "result": "great"}', 400, "result"),
        ("POST", "/_sim/outcomes", b'{"result": "failed"}', 400, "pipeline_file"),
        ("POST", "/_sim/outcomes", b'{"pipeline_file": "a.yml", "duration": -1}', 400, "duration"),
        ("GET", "/_sim/events?since=x", b"", 400, "since"),
        ("POST", "/_sim/advance", b'{"seconds": 1}', 409, "wall clock"),
        ("GET", "/_sim/nothing", b"", 404, "Not Found"),
        ("DELETE", "/_sim/push", b"", 405, "Method Not Allowed"),
    ],
)
async def test_bad_control_requests_get_a_json_reason(
    control: httpx.AsyncClient, method: str, path: str, body: bytes, status: int, error: str
) -> None:
    response = await control.request(method, path, content=body)
    assert response.status_code == status
    assert error in response.json()["error"]


async def test_bad_api_bodies_are_400_not_500(
    simulator: Simulator, control: httpx.AsyncClient
) -> None:
    pipeline_id = (await control.post("/_sim/push", json={"project": "demo"})).json()["pipeline_id"]
    headers = {"Authorization": "Token t", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=simulator.base_url, headers=headers) as http:
        malformed = await http.post("/promotions", content=b"{oops")
        assert malformed.status_code == 400 and malformed.json().startswith("Malformed request")
        override = await http.post(
            "/promotions", json={"pipeline_id": pipeline_id, "name": "beta", "override": "maybe"}
        )
        assert (override.status_code, override.json()) == (
            400,
            "Invalid value of 'override' param: \"maybe\" - needs to be boolean.",
        )
        missing = await http.post("/promotions", json={"name": "beta"})
        assert missing.status_code == 400
        too_big = await http.get(
            "/promotions", params={"pipeline_id": pipeline_id, "page_size": 100}
        )
        assert too_big.status_code == 400
        form = await http.post(
            "/promotions",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            content=f"pipeline_id={pipeline_id}&name=beta&override=true".encode(),
        )
        assert (form.status_code, form.json()) == (200, "Promotion successfully triggered.")


async def test_outcomes_events_and_reset(control: httpx.AsyncClient, simulator: Simulator) -> None:
    scripted = await control.post(
        "/_sim/outcomes",
        json=[
            {"pipeline_file": "semaphore.yml", "result": "failed", "duration": 0.01},
            {"pipeline_file": "semaphore.yml", "commit_sha": "ok", "duration": 0.01},
        ],
    )
    assert scripted.json() == {"outcomes": 2}
    failing = (await control.post("/_sim/push", json={"project": "demo"})).json()
    passing = (
        await control.post("/_sim/push", json={"project": "demo", "commit_sha": "ok"})
    ).json()
    await simulator.wait_for(
        lambda: all(simulator.engine.pipelines[p["pipeline_id"]].done for p in (failing, passing))
    )
    events = (await control.get("/_sim/events")).json()["events"]
    done = {e["pipeline_id"]: e["result"] for e in events if e["state"] == "done"}
    assert done == {failing["pipeline_id"]: "failed", passing["pipeline_id"]: "passed"}
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    keys = {
        "at",
        "type",
        "pipeline_id",
        "workflow_id",
        "pipeline_file",
        "commit_sha",
        "state",
        "result",
        "result_reason",
        "promotion_of",
        "triggered_by",
    }
    assert all(keys <= set(e) for e in events)
    later = (await control.get("/_sim/events", params={"since": 3})).json()["events"]
    assert later == events[3:]
    assert (await control.post("/_sim/reset")).json() == {"ok": True}
    assert (await control.get("/_sim/events")).json()["events"] == []


async def test_world_summary(control: httpx.AsyncClient) -> None:
    world = (await control.get("/_sim/world")).json()
    [demo] = world["projects"]
    assert demo["name"] == "demo"
    assert [t["name"] for t in demo["deployment_targets"]] == ["beta", "prod"]


async def test_manual_clock_over_http() -> None:
    sim = Simulator(clock=ManualClock(), default_duration=2)
    async with sim, httpx.AsyncClient(base_url=sim.url) as control:
        pushed = (await control.post("/_sim/push", json={"project": "demo"})).json()
        await control.post("/_sim/advance", json={"seconds": 1.5})
        assert sim.engine.pipelines[pushed["pipeline_id"]].state == "running"
        await control.post("/_sim/advance", json={"seconds": 0.5})
        assert sim.engine.pipelines[pushed["pipeline_id"]].result == "passed"
        bad = await control.post("/_sim/advance", json={"seconds": -1})
        assert bad.status_code == 400


async def test_a_paused_project_creates_no_workflow() -> None:
    async with (
        Simulator(parse_world(PAUSED)) as sim,
        httpx.AsyncClient(base_url=sim.url) as control,
    ):
        answer = (await control.post("/_sim/push", json={"project": "paused"})).json()
    assert answer == {"workflow_id": None, "pipeline_id": None, "paused": True}
    assert not sim.engine.workflows


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_command_line_serves_the_api() -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "semaphore_client.simulator",
        "--port",
        str(port),
        "--token",
        "cli-token",
        "--default-duration",
        "0.01",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = await asyncio.wait_for(process.stdout.readline(), timeout=10)
        assert f"http://127.0.0.1:{port}/api/v1alpha" in banner.decode()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            denied = await http.get(
                "/api/v1alpha/projects", headers={"Authorization": "Token other"}
            )
            allowed = await http.get(
                "/api/v1alpha/projects", headers={"Authorization": "Token cli-token"}
            )
        assert denied.status_code == 401
        assert [p["metadata"]["name"] for p in allowed.json()] == ["demo"]
    finally:
        process.terminate()
        await process.wait()


async def test_command_line_reports_a_bad_world() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "semaphore_client.simulator",
        "--port",
        "0",
        "--world",
        "/nonexistent/world.yml",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(process.communicate(), timeout=10)
    assert process.returncode != 0
    assert b"cannot load world /nonexistent/world.yml" in err
    assert b"Traceback" not in err
