"""The terminal: lines typed in (read by a thread, handed to the event loop) and lines shown,
with the prompt drawn again below anything that arrives while it is up."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import TextIO


class Terminal:
    def __init__(self, out: TextIO | None = None, stdin: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.stdin = stdin or sys.stdin
        self.tty = self.out.isatty()
        self.prompt = "> "
        self._prompting = False
        self._lines: asyncio.Queue[str | None] | None = None

    @property
    def color(self) -> bool:
        return self.tty and not os.environ.get("NO_COLOR")

    def show(self, lines: list[str]) -> None:
        if self._prompting and self.tty:
            self.out.write("\r\x1b[K")
        elif self._prompting:
            self.out.write("\n")
        self.out.write("".join(f"{line}\n" for line in lines))
        if self._prompting:
            self.out.write(self.prompt)
        self.out.flush()

    def say(self, line: str) -> None:
        self.show([line])

    def ask(self) -> None:
        """Show the prompt; input is read with `line()`."""
        self._prompting = True
        self.out.write(self.prompt)
        self.out.flush()

    def start_reading(self) -> None:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._lines = lines

        def read() -> None:
            while True:
                try:
                    line = self.stdin.readline()
                except (OSError, ValueError):
                    line = ""
                if not line:
                    loop.call_soon_threadsafe(lines.put_nowait, None)
                    return
                loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\r\n"))

        threading.Thread(target=read, name="demo-input", daemon=True).start()

    async def line(self) -> str | None:
        """The next line typed, or None at the end of input."""
        assert self._lines is not None, "start_reading() first"
        line = await self._lines.get()
        self._prompting = False
        if line is not None and not self.stdin.isatty():
            self.out.write(f"{line}\n")  # echo piped input, so the transcript reads well
        return line
