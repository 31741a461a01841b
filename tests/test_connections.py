"""nin/ui/connections.py and nin/ui/rate_log.py as a specification: slow requests are closed at their deadline, open
connections are capped with a clean refusal, and every logger the server uses writes short, rate-limited lines.

The deadlines are shortened for these tests (the module reads them at each connection), so a slow client is
closed in about a second instead of five.
"""

import logging
import socket
import time

import httpx
import pytest

from nin.ui import connections, rate_log
from nin.dev.attack import server_rows as attack_server

SHORT_S = 0.8   # the deadlines during these tests


@pytest.fixture
def short_deadlines(monkeypatch):
    monkeypatch.setattr(connections, "HEADER_TIMEOUT_S", SHORT_S)
    monkeypatch.setattr(connections, "BODY_TIMEOUT_S", SHORT_S)


@pytest.mark.parametrize("what", list(attack_server.HALF_SENT))
def test_a_half_sent_request_is_answered_408_and_closed_within_its_deadline(raw, short_deadlines, what, capfd):
    capfd.readouterr()
    found = attack_server.row_half_sent(raw, what, limit_s=10)
    assert found["closed"] and found["closed_after_s"] <= SHORT_S + 1.5, found
    assert found["answer"] == "HTTP/1.1 408 Request Timeout", found
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and (out + err).count("\n") <= 1


def test_a_slow_body_that_keeps_coming_is_read_whole(raw, short_deadlines, monkeypatch):
    """The body deadline grows with what arrives: a body sent in pieces over 3 deadlines, above the minimum
    rate, is read and answered."""
    monkeypatch.setattr(connections, "BODY_MIN_RATE", 64)
    body = b'{"data": [], "fn_index": 99999, "session_hash": "abc"}' + b" " * 300
    head = (f"POST /gradio_api/queue/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    host, port = attack_server.host_port(raw)
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head)
        for start in range(0, len(body), 100):
            sock.sendall(body[start:start + 100])
            time.sleep(SHORT_S * 0.75)  # pacing the client, not an assertion
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 404"), answer[:100]  # read whole, and refused for its unknown event


def test_an_idle_kept_alive_connection_is_closed(raw, monkeypatch):
    """After an answer, a kept-alive connection that sends nothing more is closed (uvicorn's keep-alive timer,
    shortened here to 1 s: each connection reads it from the config when it opens)."""
    import app

    monkeypatch.setattr(app.demo.server.config, "timeout_keep_alive", 1)
    host, port = attack_server.host_port(raw)
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(b"GET /gradio_api/info HTTP/1.1\r\nHost: x\r\n\r\n")
        start, data = time.monotonic(), b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 200")
    assert time.monotonic() - start <= 1 + 2


def test_connections_over_the_cap_are_refused_503_and_the_server_answers_again(raw, monkeypatch, capfd):
    """With the cap lowered to 40, 200 held connections: the ones over it get 503 at once, the log gets a line
    a second at most, and once the held ones are gone the server answers."""
    monkeypatch.setattr(connections, "MAX_CONNECTIONS", 40)
    monkeypatch.setattr(connections, "HEADER_TIMEOUT_S", SHORT_S)
    capfd.readouterr()
    found = attack_server.row_held_connections(raw, count=200, hold_s=0.3)
    assert found["opened"] + found["failed"] == 200 and found["refused_503"] >= 150, found
    assert found["info_after_s"], found
    lines = [line for line in "".join(capfd.readouterr()).splitlines() if line.strip()]
    assert len(lines) <= 6 and "Traceback" not in "".join(lines), lines[:6]


def test_the_connection_cap_is_below_the_file_limit():
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connections.MAX_CONNECTIONS <= min(1000, soft - connections.RESERVED_FILES) or soft < 300


def test_every_server_logger_writes_through_the_rate_limited_log(app_url):
    for name in rate_log.SERVER_LOGGERS:
        logger = logging.getLogger(name)
        assert [type(h) for h in logger.handlers] == [rate_log.RateLogHandler] and not logger.propagate, name


def test_a_traceback_loop_in_asyncio_writes_one_traceback_and_a_line_a_second(app_url, capfd):
    """asyncio's accept loop at the file limit logs an error with a traceback at every try: 2,000 of them
    write one traceback and a few short lines, not megabytes."""
    rate_log.rate_log.reset()
    capfd.readouterr()
    log = logging.getLogger("asyncio")
    for fd in range(2000):
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            log.error("socket.accept() out of system resource\nsocket: <socket fd=%d>", fd, exc_info=True)
    written = "".join(capfd.readouterr())
    assert written.count("Traceback") <= 1 and len(written.encode()) < 4000, len(written.encode())


def test_uvicorn_is_configured_with_the_deadline_protocol_and_no_websocket(app_url):
    import app

    config = app.demo.server.config
    assert config.http is connections.DeadlineProtocol and config.ws == "none"
    assert config.timeout_keep_alive == connections.KEEP_ALIVE_S


def test_an_ordinary_request_is_unaffected_by_the_deadlines(app_url):
    assert httpx.get(f"{app_url}/gradio_api/info", timeout=30).status_code == 200
