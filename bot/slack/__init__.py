"""deploybot's Slack side.

Pure parts (no I/O): `parser.parse` reads `/deploy` text into a command value
(`commands`), `render` builds every message, modal and home view, `escape` keeps people's
text literal. Handlers ack, parse, call the orchestrator, and post what `render` built.
"""
