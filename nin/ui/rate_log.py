"""The server's one log: short lines, at most one a second per kind, for the app and every library it runs on.

A script can send thousands of bad requests a second, and some failures repeat in a loop of their own (asyncio
logs `socket.accept() out of system resource` with a traceback at every accept while the process is out of
file descriptors). Each writing even one line would flood the log; each writing a traceback fills a disk.
So every record of those loggers is written by `RateLogHandler`, judged by `rate_log` (a RateLog):

- a record is written as one line of at most 200 characters;
- per kind, the first line in a second is written and the rest are counted; the next line of that kind says
  how many were held back (`(+N like it)`);
- a traceback is written the first time its kind is seen and never again (at most MAX_TRACEBACKS kinds);
  every line of a record with an exception names the exception;
- kinds are bounded (MAX_KINDS): past that, new kinds share one, so varying a message cannot escape the rate.

`rate_log.line(kind, message)` logs a line of a kind the code names (a refusal, a refused route) on the app's logger.

`install()` makes the app's logger, uvicorn's, asyncio's and Gradio's write through here (uvicorn resets its
own loggers whenever a server is configured, so nin.ui.connections calls it again at each launch).
"""

from __future__ import annotations

import logging
import re
import sys
import time
import traceback

LINE = 200            # characters of a line after its logger and level
MAX_KINDS = 512       # kinds remembered; more share the kind "other"
MAX_TRACEBACKS = 32   # kinds whose first traceback is written in full
APP_LOGGER = "nin-explorer"
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "asyncio", "gradio", APP_LOGGER)


def shorten(message: str, limit: int) -> str:
    return message if len(message) <= limit else message[:limit - 1] + "…"


class RateLog:
    """The judge of what is written: per kind, one line a second, the lines held back counted into the next; a
    traceback the first time its kind is seen. Records reach it through RateLogHandler."""

    def __init__(self, every_s: float = 1.0):
        self.every_s = every_s
        self.last: dict[str, float] = {}
        self.held: dict[str, int] = {}
        self.traced: set[str] = set()

    def reset(self) -> None:
        """Forget every kind's last line and count, as a fresh process would (tests start a log window here)."""
        self.last.clear()
        self.held.clear()

    def kind_of(self, kind: str) -> str:
        return kind if kind in self.last or len(self.last) < MAX_KINDS else "other"

    def line(self, kind: str, message: str, label: str | None = "") -> None:
        """Log `label: message` on the app's logger as a line of `kind` (label defaults to the kind, None leaves
        it out); RateLogHandler writes it unless a line of that kind was written less than a second ago."""
        label = kind if label == "" else label
        text = " ".join(str(message).split())
        logging.getLogger(APP_LOGGER).info("%s", text if label is None else f"{label}: {text}",
                                           extra={"rate_log_kind": kind})

    def admit(self, kind: str) -> tuple[bool, int]:
        """(whether a line of `kind` may be written now, how many were held back since the last one)."""
        kind = self.kind_of(kind)
        now = time.monotonic()
        if now - self.last.get(kind, -1e9) < self.every_s:
            self.held[kind] = self.held.get(kind, 0) + 1
            return False, 0
        self.last[kind] = now
        return True, self.held.pop(kind, 0)

    def traceback_once(self, kind: str) -> bool:
        """Whether a traceback of `kind` may be written: the first of its kind (within the budget)."""
        if kind in self.traced or len(self.traced) >= MAX_TRACEBACKS:
            return False
        self.traced.add(kind)
        return True

    @staticmethod
    def write(text: str) -> None:
        """To whatever sys.stderr is now (as Gradio's own output), with the time."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        try:
            sys.stderr.write(f"{stamp} {text}\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr closed or full: nothing more can be said
            pass


rate_log = RateLog()

DIGITS = re.compile(r"[0-9]+")


def record_kind(record: logging.LogRecord) -> str:
    """A record's kind: the one it was logged with (`rate_log_kind`), else its logger, the first words of its
    message and its exception's type, numbers left out, so the same failure at another address, socket or
    size is the same kind."""
    given = getattr(record, "rate_log_kind", None)
    if given is not None:
        return str(given)
    first = record.getMessage().strip().split("\n", 1)[0]
    error = record.exc_info[1] if record.exc_info else None
    kind = f"{record.name} {DIGITS.sub('#', ' '.join(first.split()[:8]))}"
    return kind if error is None else f"{kind} {type(error).__name__}"


class RateLogHandler(logging.Handler):
    """A logging handler that writes each record as one short line, at most one a second per kind, and a
    traceback only the first time its kind is seen."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            kind = record_kind(record)
            written, held = rate_log.admit(kind)
            if not written:
                return
            message = " ".join(record.getMessage().strip().split("\n", 1)[0].split())
            error = record.exc_info[1] if record.exc_info else None
            if error is not None:
                message = f"{message} ({type(error).__name__}: {shorten(str(error), 80)})"
            more = f" (+{held} like it)" if held else ""
            rate_log.write(f"{record.name} {record.levelname}: {shorten(message, LINE - len(more))}{more}")
            if error is not None and rate_log.traceback_once(kind):
                rate_log.write("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        except Exception:  # a log handler must never raise into the code that logged
            self.handleError(record)


def install() -> None:
    """Every logger the server uses writes through `rate_log` only: the app's, uvicorn's, asyncio's, Gradio's."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if not isinstance(handler, RateLogHandler):
                logger.removeHandler(handler)
        if not logger.handlers:
            logger.addHandler(RateLogHandler())
        logger.propagate = False
        if name == APP_LOGGER:
            logger.setLevel(logging.INFO)


__all__ = ["RateLog", "RateLogHandler", "rate_log", "install", "record_kind", "shorten", "LINE", "SERVER_LOGGERS"]
