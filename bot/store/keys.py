"""Every Redis key deploybot uses, built in one place.

Keys of one stage share the hash tag `{project:stage}`, so each stage's Lua script touches a
single slot and runs unchanged on Redis Cluster.
"""

from __future__ import annotations

PREFIX = "deploybot"


def epoch() -> str:
    """String: this Redis's epoch (random, set once): stages it has never held start from
    it, so deployment ids do not repeat after a flush or a new Redis."""
    return f"{PREFIX}:epoch"


def stage_tag(project: str, stage: str) -> str:
    return "{" + f"{project}:{stage}" + "}"


def state(project: str, stage: str) -> str:
    """Hash: `version` and `doc` (the StageState as JSON)."""
    return f"{PREFIX}:{stage_tag(project, stage)}:state"


def parse_state(key: str) -> tuple[str, str] | None:
    """(project, stage) of a `state` key, None for any other key. Names are slugs (no ':')."""
    prefix, suffix = f"{PREFIX}:" + "{", "}:state"
    if not (key.startswith(prefix) and key.endswith(suffix)):
        return None
    project, colon, stage = key[len(prefix) : -len(suffix)].partition(":")
    return (project, stage) if colon and project and stage and ":" not in stage else None


def history(project: str, stage: str) -> str:
    """List of finished deployments as JSON, newest first, capped."""
    return f"{PREFIX}:{stage_tag(project, stage)}:history"


def deliveries(project: str, stage: str) -> str:
    """List of delivery records (compact JSON arrays), newest first, kept for the history
    retention and capped."""
    return f"{PREFIX}:{stage_tag(project, stage)}:deliveries"


def audit(project: str, stage: str) -> str:
    """Stream: the append-only audit log of the stage (field `entry`, an AuditEntry as JSON)."""
    return f"{PREFIX}:{stage_tag(project, stage)}:audit"


def outbox(project: str, stage: str) -> str:
    """List of effects (JSON) decided but not yet carried out."""
    return f"{PREFIX}:{stage_tag(project, stage)}:outbox"


def seen(project: str, stage: str, event_id: str) -> str:
    """Marks an event as applied to the stage (idempotency key, with a TTL)."""
    return f"{PREFIX}:{stage_tag(project, stage)}:seen:{event_id}"


def changes(project: str) -> str:
    """Sorted set: the sha of every change that passed CI on the deploy branch, scored by the
    change's time; kept for the history retention, at most CHANGES_LIMIT."""
    return f"{PREFIX}:{{{project}}}:changes"


def change_details(project: str) -> str:
    """Hash: sha -> the change as JSON, without its time (the score in `changes`)."""
    return f"{PREFIX}:{{{project}}}:change-details"


def thread(project: str, sha: str) -> str:
    """The Slack thread timestamp of a change's status message."""
    return f"{PREFIX}:{{{project}}}:thread:{sha}"


def home_viewers() -> str:
    """Sorted set: who opened the App Home, scored by when (seconds since the epoch)."""
    return f"{PREFIX}:home:viewers"


def reconciled() -> str:
    """Sorted set: each project, scored by when reconciliation last asked Semaphore about it
    (seconds since the epoch)."""
    return f"{PREFIX}:reconciled"


def counter(name: str) -> str:
    """String, with a TTL: a count shared by replicas (Semaphore calls in a minute)."""
    return f"{PREFIX}:count:{name}"


def claim(name: str) -> str:
    """A once-only claim (a scheduled job's fire time, a replica's lock)."""
    return f"{PREFIX}:claim:{name}"


INBOX = "inbox"


def inbox(name: str = INBOX) -> str:
    """Stream: events recorded before they are handled, consumed by a consumer group.
    `inbox` holds webhooks and alerts; `slack` the messages waiting to be posted."""
    return f"{PREFIX}:{{{name}}}:stream"


def inbox_seen(dedupe_key: str, name: str = INBOX) -> str:
    """Marks an item as recorded (dedupe key, with a TTL); same slot as its stream."""
    return f"{PREFIX}:{{{name}}}:seen:{dedupe_key}"


def inbox_dead(name: str = INBOX) -> str:
    """Stream: the inbox's dead letters, items given up on after repeated failures (fields
    `item`, `kind`, `payload`, `attempts`, `error`); same slot as its stream."""
    return f"{PREFIX}:{{{name}}}:dead"
