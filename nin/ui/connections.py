"""How long a connection may take to say what it wants, and how many may be open: deadlines and a cap.

Gradio runs uvicorn with its defaults, and uvicorn's h11 protocol has no deadline for reading a request: a
connection that sends half its headers, half its body or nothing stays open for ever. 1,000 such connections
cost 10 MB; at the process's file limit the server stops answering, and asyncio logs `socket.accept() out of
system resource` with a traceback at every try. Here, per connection (`DeadlineProtocol`, uvicorn's own h11
protocol with deadlines added):

- a request's headers must all arrive within HEADER_TIMEOUT_S of its first byte, or of the connection opening;
- its body within BODY_TIMEOUT_S plus one second per BODY_MIN_RATE bytes received (a 10 MB upload at 128
  kbit/s still fits; a body that stalls does not);
- an idle keep-alive connection is closed after KEEP_ALIVE_S (uvicorn's own timer);

past a deadline the client gets 408 (when nothing was answered yet) and the connection is closed. And at most
MAX_CONNECTIONS are open at once, well below the file limit: one more is answered 503 and closed as soon as it
is accepted, so the process never runs out of file descriptors. Every refusal writes one rate-limited log line a
second at most (nin.ui.rate_log), and uvicorn's, asyncio's and Gradio's loggers go through the same.

Gradio builds its uvicorn config itself (gradio/http_server.py passes no such options), so `install()` puts
`HardenedServer`, which sets them on that config, where Gradio looks its server class up. app.py calls it at
import, before any launch.
"""

from __future__ import annotations

import asyncio
import resource
import time

import gradio.http_server
import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from nin.ui.rate_log import install as install_rate_log, rate_log

HEADER_TIMEOUT_S = 5.0       # seconds for a request's headers, from its first byte or the connection opening
BODY_TIMEOUT_S = 5.0         # seconds for a body ...
BODY_MIN_RATE = 16 << 10     # ... plus one more per this many bytes received (128 kbit/s)
KEEP_ALIVE_S = 5             # seconds an idle keep-alive connection is kept
RESERVED_FILES = 256         # file descriptors left for everything else (weights, the cache, threads, the log)


def connection_cap() -> int:
    """Connections open at once: 1,000 (a classroom of 30 pages holds ~150), or fewer where the file limit is
    low, always RESERVED_FILES under it."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(16, min(1000, soft - RESERVED_FILES))


MAX_CONNECTIONS = connection_cap()


def raw_response(status: int, reason: str, detail: str) -> bytes:
    body = ('{"detail": "%s"}' % detail).encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\nconnection: close\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


FULL = raw_response(503, "Service Unavailable", "Too many connections; try again in a few seconds.")
TOO_SLOW = raw_response(408, "Request Timeout", "The request did not arrive in time.")


class DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a read deadline per request and a cap on open connections."""

    deadline: asyncio.TimerHandle | None = None
    body_started = 0.0
    body_received = 0

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        if len(self.connections) > MAX_CONNECTIONS:
            rate_log.line("connections full", f"over {MAX_CONNECTIONS} open; one more refused")
            transport.write(FULL)
            transport.close()
            return
        self.arm(HEADER_TIMEOUT_S)

    def connection_lost(self, exc) -> None:
        self.disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.deadline is None and self.conn.their_state is h11.IDLE:
            self.arm(HEADER_TIMEOUT_S)  # the next request on a kept-alive connection has begun
        reading_body = self.conn.their_state is h11.SEND_BODY
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            if not reading_body:  # the headers are in: the body's clock starts
                self.body_started, self.body_received = time.monotonic(), 0
            self.body_received += len(data)
        elif state is not h11.IDLE:  # the request is read (DONE), or the connection is closing
            self.disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.deadline is None and self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
            self.body_started, self.body_received = time.monotonic(), 0  # a pipelined request's body, now read
            self.arm(BODY_TIMEOUT_S)

    def arm(self, seconds: float) -> None:
        self.disarm()
        self.deadline = self.loop.call_later(seconds, self.on_deadline)

    def disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def on_deadline(self) -> None:
        self.deadline = None
        state = self.conn.their_state
        if state is h11.SEND_BODY and self.flow is not None and self.flow.read_paused:
            self.body_started += BODY_TIMEOUT_S  # the app has not read what came: the wait is the server's
            self.deadline = self.loop.call_later(BODY_TIMEOUT_S, self.on_deadline)
            return
        if state is h11.SEND_BODY:
            due = self.body_started + BODY_TIMEOUT_S + self.body_received / BODY_MIN_RATE
            if time.monotonic() < due:  # the body is still coming at the minimum rate
                self.deadline = self.loop.call_later(due - time.monotonic(), self.on_deadline)
                return
        elif state is not h11.IDLE or self.transport.is_closing():
            return
        what = "body" if state is h11.SEND_BODY else "headers"
        rate_log.line("slow request closed", f"{what} not received within the deadline")
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(TOO_SLOW)
        self.transport.close()


_GradioServer = gradio.http_server.Server


class HardenedServer(_GradioServer):
    """Gradio's server class, with the deadlines, the connection cap and no WebSocket (the page and the API
    use none) set on the uvicorn config Gradio made, and the server's loggers made quiet again after uvicorn
    configured them."""

    def __init__(self, config, *args, **kwargs):
        config.http = DeadlineProtocol
        config.ws = "none"
        config.timeout_keep_alive = KEEP_ALIVE_S
        install_rate_log()
        super().__init__(config, *args, **kwargs)


def install() -> None:
    """Serve every launch with HardenedServer (gradio.http_server.start_server looks the class up by name)."""
    gradio.http_server.Server = HardenedServer


__all__ = ["DeadlineProtocol", "HardenedServer", "install", "MAX_CONNECTIONS", "HEADER_TIMEOUT_S", "BODY_TIMEOUT_S",
           "BODY_MIN_RATE", "KEEP_ALIVE_S"]
