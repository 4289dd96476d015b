"""`deploybot demo` in a pseudo-terminal, driven like a person would: type a line, wait until
the expected text is shown (never a fixed sleep), with a deadline on every wait and on the
whole session."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class DemoTerminal:
    def __init__(self, *args: str, cwd: Path, budget: float = 55.0) -> None:
        primary, secondary = os.openpty()
        env = {**os.environ, "NO_COLOR": "", "COLUMNS": "120", "TERM": "xterm"}
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", *args],
            stdin=secondary, stdout=secondary, stderr=secondary, cwd=cwd, env=env,
            close_fds=True, start_new_session=True,
        )  # fmt: skip
        os.close(secondary)
        self.fd = primary
        self.deadline = self.started + budget
        #: Everything shown, ANSI styling and carriage returns removed.
        self.transcript = ""
        #: Where the next `expect` starts looking.
        self.mark = 0

    def _read(self, until: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(0.0, until - time.monotonic()))
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the child closed the terminal
            return False
        if not chunk:
            return False
        self.transcript += ANSI.sub("", chunk.decode("utf-8", "replace")).replace("\r", "")
        return True

    def expect(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """Wait for `pattern` (a regex) to be shown after the mark; move the mark past it."""
        until = min(time.monotonic() + timeout, self.deadline)
        compiled = re.compile(pattern)
        while True:
            found = compiled.search(self.transcript, self.mark)
            if found:
                self.mark = found.end()
                return found
            if time.monotonic() >= until or (
                not self._read(until) and self.proc.poll() is not None
            ):
                tail = self.transcript[-3000:]
                raise AssertionError(
                    f"not shown: {pattern!r}\n--- the last lines shown ---\n{tail}"
                )

    def since(self, start: int) -> str:
        return self.transcript[start : self.mark]

    def send(self, line: str) -> int:
        """Type `line`; returns the transcript position before it, for `since`."""
        position = len(self.transcript)
        os.write(self.fd, line.encode() + b"\n")
        return position

    def close(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        os.close(self.fd)
        return self.proc.returncode
