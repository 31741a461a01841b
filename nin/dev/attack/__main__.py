"""`python -m nin.dev.attack --launch`: the hostile requests the app must survive, sent the way an attacker would,
each measured: how long the answer took, how much the server's memory grew, how large the answer was, what
it said, and, with --launch, how many bytes it added to the server's log. Loopback only.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from nin.dev.attack import server_rows
from nin.dev.attack.requests import Raw
from nin.dev.attack.rows import (row_ablate_huge_range, row_ablate_spaces, row_call_unread, row_forged_panels,
                                 row_huge_body, row_huge_value, row_live_flood, row_live_payload,
                                 row_route_mistakes, row_simultaneous_joins, row_starve, row_unknown_session_flood,
                                 row_unread_predicts, row_upload_flood, row_wrong_values)
from nin.dev.launcher import launch, loopback_url, rss_mb, stop

@dataclass
class Row:
    request: str
    seconds: float
    growth_mb: float | None
    response_bytes: int
    log_bytes: int | None
    said: str
    extra: dict = field(default_factory=dict)


def measured(pid: int | None, log: Path | None, run) -> tuple:
    before, log_before = rss_mb(pid), log.stat().st_size if log else None
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    time.sleep(0.2)
    after = rss_mb(pid)
    grown = None if before is None or after is None else round(after - before, 1)
    logged = log.stat().st_size - log_before if log else None
    return result, seconds, grown, logged


def run_all(url: str, pid: int | None = None, log: Path | None = None, only: str | None = None) -> list[Row]:
    raw = Raw(url)
    session = raw.session_with_image()
    rows = []

    def add(request: str, run, describe) -> None:
        if only and not any(part in request for part in only.split("|")):
            return
        result, seconds, grown, logged = measured(pid, log, run)
        said, size, extra = describe(result)
        rows.append(Row(request, round(seconds, 2), grown, size, logged, said[:120], extra))

    one = lambda a: (a.message or f"HTTP {a.status}", a.response_bytes, {})  # noqa: E731
    add("/ablate cells 2,000 spaces + x + 2,000 spaces", lambda: row_ablate_spaces(raw, session), one)
    add("/ablate cells 1,000 spaces + x + 999 spaces", lambda: row_ablate_spaces(raw, session, 1000), one)
    add("/ablate block1 channels 0-29999999", lambda: row_ablate_huge_range(raw, session), one)
    add("forged 1000x1000 numbers, every private lesson input",
        lambda: row_forged_panels(raw, session),
        lambda answers: (f"{sum(a.status == 413 for a in answers.values())} x HTTP 413, "
                         f"{sum(a.success is False for a in answers.values())} refused by the handler, "
                         f"{sum(bool(a.success) for a in answers.values())} drawn",
                         sum(a.response_bytes for a in answers.values()),
                         {"slowest_s": max(a.seconds for a in answers.values())}))
    add("forged 40x40 numbers, every private lesson input", lambda: row_forged_panels(raw, session, side=40),
        lambda answers: (f"{sum(a.status == 413 for a in answers.values())} x HTTP 413, "
                         f"{sum(a.success is False for a in answers.values())} refused by the handler, "
                         f"{sum(bool(a.success) for a in answers.values())} drawn",
                         sum(a.response_bytes for a in answers.values()),
                         {"slowest_s": max(a.seconds for a in answers.values())}))
    add("/gradcam class name of 5 MB", lambda: row_huge_value(raw, session, 5 << 20), one)
    add("/gradcam class name of 30 KB (under the body limit)", lambda: row_huge_value(raw, session, 30_000), one)
    add("/predict request of 20 MB", lambda: row_huge_body(raw, session, 20 << 20), one)
    add("/predict request of 10 MB", lambda: row_huge_body(raw, session, 10 << 20), one)
    add("live canvas call of 1 MB", lambda: row_live_payload(raw, "data:image/png;base64," + "A" * (1 << 20)), one)
    add("live canvas call of 40,000 characters", lambda: row_live_payload(raw, "data:image/png;base64," + "A" * 40_000),
        one)
    add("live canvas call, ink not base64", lambda: row_live_payload(raw, "data:image/png;base64,%%%"), one)
    add("live canvas call, ink a JPEG", lambda: row_live_payload(raw, "data:image/png;base64,/9j/4AAQSkZJRgABAQ=="),
        one)
    add("16 clients flooding live calls for 6 s, /predict beside",
        lambda: row_live_flood(raw),
        lambda r: (f"{r['answered']} live answered, {r['refused']} refused; /predict {r['predict_ok']}/"
                   f"{r['predicts']} ok, median {r['predict_during_s']:.2f} s (idle {r['predict_idle_s']:.2f} s)",
                   0, r))
    add("Gradio's routes: 8 client mistakes x 20 each",
        lambda: row_route_mistakes(raw),
        lambda r: (f"{sum(400 <= s < 500 for v in r.values() for s in v)} x 4xx, "
                   f"{sum(s >= 500 for v in r.values() for s in v)} x 5xx", 0, r))
    add("/queue/data, unknown sessions, 8 connections x 5 s", lambda: row_unknown_session_flood(raw),
        lambda r: (f"{r['requests']} requests, {r['404']} x 404", 0, r))
    add("60 POST /call/predict on one session, never read", lambda: row_call_unread(raw),
        lambda r: (f"{r['accepted']} accepted, {r['refused']} refused (429)", 0, r))
    add("60 POST /call/predict without a session, never read", lambda: row_call_unread(raw, session=None),
        lambda r: (f"{r['accepted']} accepted, {r['refused']} refused (429)", 0, r))
    add("8 sessions x 70 joins at once, never read", lambda: row_simultaneous_joins(raw, sessions=8),
        lambda r: (f"{r['accepted']} accepted, {r['refused']} refused (429)", 0, r))
    add("4 clients x 30 uploads of 1 MB", lambda: row_upload_flood(raw),
        lambda r: (f"{r['accepted']} stored ({r['stored_mb']:.0f} MB), {r['refused']} refused (429)", 0, r))
    time.sleep(0 if only else 15)  # the joined events above run first
    add("40 /occlusion (patch 4) from one address, /predict from another",
        lambda: row_starve(raw),
        lambda r: (f"flood {r['flood_accepted']} joined, {r['flood_refused']} refused; /predict p95 "
                   f"{r['predict_p95_s']:.2f} s, max {r['predict_max_s']:.2f} s", 0, r))
    add("100 explore_refresh from one address, /predict from another",
        lambda: row_starve(raw, flood="explore", sessions=100),
        lambda r: (f"flood {r['flood_accepted']} joined, {r['flood_refused']} refused; /predict p95 "
                   f"{r['predict_p95_s']:.2f} s, max {r['predict_max_s']:.2f} s", 0, r))
    wrong = {} if only else measured(pid, log, lambda: row_wrong_values(raw, session))[0]
    for name, (answer, words) in wrong.items():
        rows.append(Row(name, round(answer.seconds, 2), None, answer.response_bytes, None,
                        answer.message[:120] or f"HTTP {answer.status}", {"expected": words}))
    server_rows.server_rows(raw, add)  # the server around the page: routes, connections, sessions, live fairness
    # Last: the joined events run after their joins were answered, and would load the rows after them.
    add("150 /predict (All channels) on one session, never read", lambda: row_unread_predicts(raw),
        lambda r: (f"{r['accepted']} joined, {r['refused']} refused (429), slowest join {r['slowest_join_s']:.2f} s",
                   0, r))
    server_rows.held_connections_row(raw, add)  # after everything: it fills the server's connections
    raw.close()
    return rows


def print_rows(rows: list[Row]) -> None:
    print(f"{'request':<52} {'s':>6} {'RSS MB':>7} {'bytes back':>10} {'log B':>6}  answer")
    for row in rows:
        grown = "" if row.growth_mb is None else f"{row.growth_mb:+.1f}"
        logged = "" if row.log_bytes is None else str(row.log_bytes)
        print(f"{row.request[:52]:<52} {row.seconds:>6.2f} {grown:>7} {row.response_bytes:>10} {logged:>6}  {row.said}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m nin.dev.attack",
                                     description="Hostile requests against a loopback server, measured.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--launch", action="store_true", help="start `python app.py` on a free 127.0.0.1 port")
    where.add_argument("--url", help="an app already running on this machine")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id, to read its memory")
    parser.add_argument("--startup-timeout", type=float, default=300)
    parser.add_argument("--app", default="app.py", help="with --launch: the app file to start (another checkout's "
                                                         "app.py measures its code with these rows)")
    parser.add_argument("--only", help="run only the rows whose request contains one of these texts (a|b|c)")
    args = parser.parse_args()
    server, pid, log = None, args.pid, None
    with tempfile.TemporaryDirectory() as workdir:
        if args.launch:  # as on a Space: the caller's address from X-Forwarded-For, which the rows set
            os.environ.setdefault("NIN_CLIENT_HEADER", "x-forwarded-for")
            log = Path(workdir) / "server.log"
            server, url = launch(args.startup_timeout, script=args.app, log=log)
            pid = server.pid
        else:
            url = loopback_url(args.url)
        try:
            rows = run_all(url, pid, log, args.only)
        finally:
            if server is not None:
                stop(server)
        print_rows(rows)


if __name__ == "__main__":
    main()
