"""deploybot's exception tree (one root; ordinary outcomes such as "blocked", "queued" or
"refused" are values, never exceptions):

    DeploybotError
     ├── ConfigError          the configuration file is missing or invalid (bot.config.errors)
     ├── IllegalTransition    a deployment was moved against the transition table (a bug)
     ├── UnknownStage         an event named a project or stage that is not configured
     ├── StoreContention      a stage kept changing under a decision; nothing was written
     └── EffectFailed         the outside world refused or did not answer an effect for now

The semaphore_client package has a tree of its own (SemaphoreError); its errors are
translated where the bot calls it.
"""

from __future__ import annotations


class DeploybotError(Exception):
    """The root of every error deploybot raises on purpose."""


class EffectFailed(DeploybotError):
    """An effect could not be carried out now (Semaphore down, rate limited, timing out). It
    stays in the outbox and is tried again; the message says what happened, in one line."""
