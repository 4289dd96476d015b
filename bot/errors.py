"""deploybot's exception tree (one root; ordinary outcomes such as "blocked", "queued" or
"refused" are values, never exceptions):

    DeploybotError
     ├── ConfigError          the configuration file is missing or invalid (bot.config.errors)
     ├── IllegalTransition    a deployment was moved against the transition table (a bug)
     ├── UnknownStage         an event named a project or stage that is not configured
     └── StoreContention      a stage kept changing under a decision; nothing was written

The semaphore_client package has a tree of its own (SemaphoreError); its errors are
translated where the bot calls it.
"""

from __future__ import annotations


class DeploybotError(Exception):
    """The root of every error deploybot raises on purpose."""
