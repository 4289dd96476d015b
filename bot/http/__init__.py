"""deploybot's one HTTP server: webhooks in, health and metrics out.

`build_app(HttpDeps(...))` builds the aiohttp application; each area registers its routes with
one `register(app, deps)` (semaphore.py, alerts.py, ops.py; Slack adds its own the same way).
Handlers are thin: check, record in the inbox, answer. The inbox worker does the work.
"""

from bot.http.app import build_app
from bot.http.deps import HttpDeps
from bot.http.server import RunningServer, start_server

__all__ = ["HttpDeps", "RunningServer", "build_app", "start_server"]
