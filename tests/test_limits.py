"""nin/ui/refusals.py, request_limits.py, uploads.py and live_gate.py as a specification, through the real server: the hostile requests of nin/dev/attack against the limits
(raw-input checks, the one refusal, the request-body and unread-event caps) are answered or refused within
their time, memory, message and log bound.

Each attack is tested once, beside the code that defends against it: the cells and channels parsers in
tests/test_ui_handlers.py, the guarded error path there too, hostile canvas layers in
tests/test_components.py, hostile files in tests/test_preprocess.py.

The requests are nin/dev/attack's (`python -m nin.dev.attack --launch` prints the same figures for a
launched server); here they go to the in-process server of conftest.py, so the server's memory is this
process's RSS and its log is what this process writes to stderr/stdout (pytest's capfd).
"""

import json
import math
import os
import re
import time

import httpx
import pytest

from nin.dev.launcher import rss_mb
from nin.serve.checks import QUOTE
from nin.ui.request_limits import EVENT_BODY_LIMIT, MAX_ACTIVE_PER_CLIENT as MAX_ACTIVE, MAX_PENDING_PER_SESSION
from nin.ui.rate_log import rate_log
from nin.dev.attack import rows as attack

from conftest import require_module

require_module("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

SECONDS = 2.0        # the bound on answering or refusing any of these requests
GROWTH_MB = 100      # ... on the server's memory growth (200 MB for a 10 MB body)
MESSAGE = 1000       # ... on a message's length
LOG_BYTES = 20_000   # ... on the log a 5 MB value may cost


@pytest.fixture(scope="module")
def session(raw):
    return raw.session_with_image()


def grown_mb(before: float) -> float:
    return rss_mb(os.getpid()) - before


def refused_quickly(answer: attack.Answer, *words: str) -> None:
    assert answer.seconds <= SECONDS, f"{answer.seconds:.2f} s"
    assert answer.success is not True, "the request was not refused"
    assert answer.message and len(answer.message) <= MESSAGE, answer.message[:200]
    for word in words:
        assert word in answer.message, answer.message


# ----------------------------------------------------------------------------- panels from server-side numbers only

def test_no_event_takes_numbers_from_the_client():
    import gradio as gr

    import app

    takes_json = [fn.name for fn in app.demo.fns.values() if any(isinstance(b, gr.JSON) for b in fn.inputs)]
    assert takes_json == []


def test_every_event_that_runs_the_model_or_draws_a_panel_is_in_the_bounded_model_group():
    import app

    # a constant line, a constant report, the weights a page chose (remembered for its live answers) and
    # their banner (a string read from the loaded file)
    trivial = {"ready", "parameters", "chosen", "weights_notice"}
    outside = [fn.name for fn in app.demo.fns.values()
               if fn.fn is not None  # a JS-only event (the explorers following the input) runs nothing here
               and fn.concurrency_id != "model" and fn.name not in trivial
               and not fn.name.startswith(("open_", "load_example"))]  # which tab is open; Gradio's example loader
    assert outside == []
    assert all(fn.concurrency_limit == app.MODEL_WORKERS for fn in app.demo.fns.values() if fn.concurrency_id == "model")


def test_forged_1000x1000_numbers_in_any_lesson_input_are_refused_by_size(raw, session):
    before = rss_mb(os.getpid())
    answers = attack.row_forged_panels(raw, session, side=1000)
    assert answers and all(a.status == 413 for a in answers.values()), {k: a.status for k, a in answers.items()}
    assert max(a.response_bytes for a in answers.values()) < 1000
    assert grown_mb(before) <= 2 * GROWTH_MB  # each body is ~5 MB, refused before it is read


def test_a_forged_panel_payload_changes_nothing(raw, session):
    """Forged arrays in every input of every private lesson event: all refused, none drawn, and the
    session's lesson answers exactly as before."""
    before = raw.call("mlp_lesson", [None, "block2", 13, 13], session)
    assert before.success, before.message
    answers = attack.row_forged_panels(raw, session, side=40)  # small enough to pass the body limit
    for name, answer in answers.items():
        assert answer.status == 200 and answer.success is False, name
        assert answer.seconds <= SECONDS and len(answer.message) <= MESSAGE, name
    after = raw.call("mlp_lesson", [None, "block2", 13, 13], session)
    assert after.success and after.output[0] == before.output[0]  # the same numbers
    assert after.output[5] == before.output[5]                    # the same sentence under the panel


def test_lesson_pages_need_a_session_with_an_image(raw):
    for api_name, data in [("gradcam_lesson", [None, "Coat"]), ("ablation_lesson", [None, "Coat@0,0", "(none)", ""]),
                           ("translation_lesson", [None, 3, 0]), ("mlp_lesson", [None, "block2", 1, 1])]:
        answer = raw.call(api_name, data)  # a fresh session: nothing classified
        refused_quickly(answer, "Draw or upload something first")


# ----------------------------------------------------------------------------- unread results

def test_a_session_may_leave_at_most_16_results_unread_and_each_is_small(raw):
    before = rss_mb(os.getpid())
    found = attack.row_unread_predicts(raw, count=150)
    assert found["accepted"] == MAX_PENDING_PER_SESSION == 16 and found["refused"] == 150 - 16, found
    assert found["slowest_join_s"] <= SECONDS
    assert "at most 16 may wait" in found["refusal"]
    assert grown_mb(before) <= GROWTH_MB
    # What one of them would have sent: the feature maps travel as files, so "All channels" is a few kB.
    image = raw.upload(attack.EXAMPLE)
    answer = raw.call("predict", [image, None, "Predicted class", "All channels"])
    assert answer.success and answer.response_bytes < 40_000, answer.response_bytes


def test_feature_maps_are_served_as_files_from_the_cache(raw, app_url):
    image = raw.upload(attack.EXAMPLE)
    answer = raw.call("predict", [image, None, "Predicted class", "All channels"])
    sources = re.findall(r'<img src="([^"]+)"', answer.output[7])
    assert len(sources) == 7 and all(s.startswith("gradio_api/file=") for s in sources)
    picture = httpx.get(f"{app_url}/{sources[0]}", timeout=30)
    assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")


# ----------------------------------------------------------------------------- request size and the log

def test_a_5_mb_value_costs_under_20_kb_of_log_and_a_short_message(raw, session, capfd):
    capfd.readouterr()
    answer = attack.row_huge_value(raw, session, 5 << 20)
    logged = sum(map(len, capfd.readouterr()))
    assert answer.status == 413 and len(answer.message) <= MESSAGE and answer.seconds <= SECONDS
    assert logged <= LOG_BYTES, logged


def test_a_30_kb_value_under_the_body_limit_is_quoted_in_at_most_60_characters(raw, session, capfd):
    rate_log.reset()  # a fresh second of the log: refusals are logged once a second per kind
    capfd.readouterr()
    answer = attack.row_huge_value(raw, session, 30_000)
    out, err = capfd.readouterr()
    refused_quickly(answer, "Class must be one of Predicted class")
    assert "x" * (QUOTE + 1) not in answer.message
    assert "Traceback" not in out + err and "x" * (QUOTE + 1) not in out + err
    assert (out + err).count("\n") == 1 and "refused: Class must be one of" in err, out + err  # one short line


@pytest.mark.parametrize("megabytes", [10, 20])
def test_a_large_request_is_refused_before_it_is_read(raw, session, megabytes):
    before = rss_mb(os.getpid())
    answer = attack.row_huge_body(raw, session, megabytes << 20)
    assert answer.status == 413 and answer.seconds <= SECONDS and "Request body over" in answer.message
    assert grown_mb(before) <= (2 if megabytes >= 10 else 1) * GROWTH_MB


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(app_url):
    def chunks():
        for _ in range(64):
            yield b"x" * 65536

    start = time.perf_counter()
    response = httpx.post(f"{app_url}/gradio_api/queue/join", content=chunks(),
                          headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == 413 and time.perf_counter() - start <= SECONDS


def test_the_largest_legitimate_call_fits_under_the_body_limit(app_url, session):
    """Both text boxes of /ablate at their full length in 4-byte characters: ~16 KB, under the 32 KB limit."""
    client = Client(app_url, download_files=False, verbose=False, analytics_enabled=False)
    client.predict(handle_file(str(attack.EXAMPLE)), api_name="/predict")
    text = "😀" * 2000
    body = json.dumps({"data": [None, text, "block1", text], "fn_index": 0, "session_hash": "x" * 11},
                      ensure_ascii=False).encode()
    assert len(body) < EVENT_BODY_LIMIT
    with pytest.raises(AppError, match="could not read"):  # read and refused by the parser, not by size
        client.predict(text, "block1", text, api_name="/ablate")


def test_a_refused_value_logs_one_short_line_and_no_traceback(raw, session, capfd):
    rate_log.reset()  # a fresh second of the log: refusals are logged once a second per kind
    capfd.readouterr()
    answer = raw.call("mlp_at", [None, "block2", math.nan, 3], session)
    out, err = capfd.readouterr()
    refused_quickly(answer, "Row must be a whole number of at least 0; got nan")
    assert "Traceback" not in out + err and (out + err).count("\n") == 1 and len(out + err) <= 300
    assert "refused: Row must be a whole number" in err


# ----------------------------------------------------------------------------- one way to refuse

@pytest.mark.parametrize("name", list(attack.WRONG_VALUES))
def test_a_wrong_value_gets_a_plain_message_naming_the_argument_and_its_range(raw, session, name):
    api_name, data, event_data, words = attack.WRONG_VALUES[name]
    answer = raw.call(api_name, data(), session, event_data=event_data)
    refused_quickly(answer, words)


def test_switching_the_block_moves_the_picked_pixel_onto_the_new_grid(raw, session):
    """Another block carries the picked pixel: block2's row 15 of 26 becomes block4's row 2 of 5, and the panel is block4's."""
    clicked = raw.call("mlp_click", [None, "block2"], session,
                       event_data={"index": [15.5 * 270 / 26, 15.5 * 270 / 26], "value": None})
    assert clicked.success and "block2, row 15, column 15" in clicked.output[5], clicked.message
    moved = raw.call("mlp_restage", [None, "block4", 15, 15, None], session)
    assert moved.success, moved.message
    result, row, col = moved.output[5], moved.output[7], moved.output[8]
    assert "block4, row 2, column 2" in result and (row, col) == (2, 2)


# ----------------------------------------------------------------------------- Gradio's own routes and the log

def logged_lines(capfd) -> list[str]:
    return [line for line in "".join(capfd.readouterr()).splitlines() if line.strip()]


def test_a_clients_mistakes_on_gradios_own_routes_get_4xx_and_at_most_a_short_line_a_second_each(raw, capfd):
    capfd.readouterr()
    start = time.monotonic()
    found = attack.row_route_mistakes(raw, repeat=10)
    seconds = time.monotonic() - start
    lines = logged_lines(capfd)
    for name, statuses in found.items():
        assert all(400 <= s < 500 for s in statuses), (name, statuses)
    assert not any("Traceback" in line or "Error in" in line for line in lines), lines[:5]
    assert all(len(line.encode()) <= 200 for line in lines), max(lines, key=len)
    kinds = 8  # at most one line a second per kind of mistake
    assert len(lines) <= kinds * (math.ceil(seconds) + 1), (len(lines), seconds)


def test_a_flood_of_streams_for_unknown_sessions_writes_a_few_lines_not_megabytes(raw, capfd):
    capfd.readouterr()
    found = attack.row_unknown_session_flood(raw, seconds=2.0, threads=4)
    logged = sum(len(line) + 1 for line in logged_lines(capfd))
    assert found["requests"] > 20 and found["other"] == 0, found
    assert logged <= 1000, logged  # one line a second, not a 6 KB traceback per request


# ----------------------------------------------------------------------------- numbers written in other scripts

@pytest.mark.parametrize("digit", ["²", "١", "３", "⁵"])
def test_digits_outside_ascii_are_refused_as_values_not_crashes(raw, session, digit, capfd):
    capfd.readouterr()
    response, _ = raw.live(attack.drawing_ink(), seq=digit)
    assert response.status_code == 200 and "seq must be a whole number" in response.json()["error"]
    ablated = raw.call("ablate", attack.lesson_data("ablate", stage="block1", channels=digit), session)
    refused_quickly(ablated)
    joined = raw.http.post(f"{raw.url}/gradio_api/queue/join",
                           json={"data": [], "fn_index": digit, "session_hash": attack.new_session()})
    assert joined.status_code == 404
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


# ----------------------------------------------------------------------------- unread results on every route

def test_call_results_left_unread_are_bounded_per_session_and_without_a_session_per_address(raw):
    assert attack.row_call_unread(raw, count=30) == {"accepted": 16, "refused": 14, "other": 0}
    assert attack.row_call_unread(raw, count=30, session=None) == {"accepted": 16, "refused": 14, "other": 0}


def test_simultaneous_joins_cannot_race_past_16_unread_per_session(raw):
    found = attack.row_simultaneous_joins(raw, count=40, sessions=2)
    assert found["other"] == 0 and found["accepted"] <= 2 * MAX_PENDING_PER_SESSION, found
    assert found["accepted"] + found["refused"] == 80, found


def test_a_refreshed_explore_tab_sends_its_pictures_as_files_and_is_under_50_kb(raw, session, app_url):
    answer = raw.call("explore_refresh", [None, "block1", 0, 8, 4], session)
    assert answer.success, answer.message
    assert answer.response_bytes < 50_000, answer.response_bytes
    html_out = " ".join(x for x in answer.output if isinstance(x, str))
    sources = re.findall(r'<img src="([^"]+)"', html_out)
    assert sources and all(s.startswith("gradio_api/file=") for s in sources)
    picture = httpx.get(f"{app_url}/{sources[0]}", timeout=30)
    assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")


# ----------------------------------------------------------------------------- the disk

def test_an_upload_flood_from_one_address_is_refused_with_429_and_few_log_lines(raw, capfd):
    capfd.readouterr()
    found = attack.row_upload_flood(raw, threads=4, files=15)
    lines = logged_lines(capfd)
    assert found["refused"] > 0 and found["other"] == 0, found
    assert found["stored_mb"] <= 50, found  # 40 MB at once, refilled at 1 MB a second
    assert len(lines) <= 10 and "Traceback" not in "".join(lines), lines[:5]


def test_the_cache_keeps_its_budget_by_deleting_the_oldest_files_first(tmp_path):
    from nin.ui.uploads import cache_size, evict_oldest

    for i in range(10):
        folder = tmp_path / f"h{i}"
        folder.mkdir()
        (folder / "f.png").write_bytes(b"x" * 1000)
        os.utime(folder / "f.png", (1000 + i, 1000 + i))
    assert evict_oldest(str(tmp_path), 4500) == 4000 == cache_size(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h6", "h7", "h8", "h9"]


# ----------------------------------------------------------------------------- one caller cannot starve another

@pytest.fixture
def trusted_proxy():
    """The server trusts X-Forwarded-For as a Space's proxy writes it, for one test."""
    from nin.ui import callers

    callers.CLIENT_HEADER = "x-forwarded-for"
    yield
    callers.CLIENT_HEADER = None


@pytest.mark.slow
def test_one_address_flooding_occlusion_leaves_another_address_predict_p95_under_2_s(raw, trusted_proxy):
    from nin.ui.request_limits import MAX_ACTIVE_PER_CLIENT

    found = attack.row_starve(raw, flood="occlusion", sessions=40, predicts=10)
    assert found["flood_accepted"] <= MAX_ACTIVE_PER_CLIENT + 2, found  # a few may finish while the rest join
    assert found["predict_ok"] == found["predicts"] and found["predict_p95_s"] <= 2.0, found


# ----------------------------------------------------------------------------- one reading of the caller's address

def test_all_x_forwarded_for_lines_are_joined_and_the_right_most_entry_is_the_caller(trusted_proxy):
    from starlette.requests import Request

    from nin.ui.callers import client_of, request_client, scope_client

    lines = [(b"x-forwarded-for", b"192.0.2.7, 192.0.2.8"), (b"x-forwarded-for", b"10.6.6.6")]
    scope = {"type": "http", "headers": lines, "client": ("127.0.0.1", 5000)}
    assert scope_client(scope) == request_client(Request(scope)) == client_of(lines, None) == "10.6.6.6"
    assert scope_client({"type": "http", "headers": [], "client": ("127.0.0.1", 5000)}) == "127.0.0.1"


def test_a_second_x_forwarded_for_line_does_not_hide_a_callers_running_events(raw, trusted_proxy):
    from nin.dev.attack import server_rows as attack_server

    joined = attack_server.row_two_header_lines(raw, joins=30, caller="10.6.7.1")
    assert joined["other"] == 0 and joined["joined"] <= MAX_ACTIVE + 2, joined  # a few may finish meanwhile


# ----------------------------------------------------------------------------- live calls: per caller, their ink, their seq

def test_one_caller_has_at_most_2_live_calls_in_flight_whatever_sessions_it_names():
    from nin.ui.live_gate import LIVE_PER_CALLER, Busy, LiveGate

    gate = LiveGate(workers=2, waiting=16)
    with gate.admit("a", "10.0.0.1"), gate.admit("b", "10.0.0.1"):
        assert LIVE_PER_CALLER == 2
        with pytest.raises(Busy, match="Too many live calls from one address"):
            with gate.admit("c", "10.0.0.1"):
                pass
        with gate.admit("d", "10.0.0.2"):  # another caller is admitted
            assert gate.admitted == 3
    assert gate.admitted == 0 and not gate.callers


def test_a_page_sending_10_live_calls_a_second_one_at_a_time_is_never_refused(monkeypatch):
    from nin.ui import live_gate

    clock = [1000.0]
    monkeypatch.setattr(live_gate.time, "monotonic", lambda: clock[0])
    gate = live_gate.LiveGate(workers=2, waiting=16)
    for _ in range(600):  # a minute of drawing
        with gate.admit("page", "10.0.0.1"):
            clock[0] += 0.04   # the answer takes 40 ms ...
        clock[0] += 0.06       # ... and the next call leaves 100 ms after the last
    two_tabs = [live_gate.LiveGate(workers=2, waiting=16)]
    for _ in range(300):  # two tabs of one caller, each 10 a second
        with two_tabs[0].admit("tab1", "10.0.0.1"), two_tabs[0].admit("tab2", "10.0.0.1"):
            clock[0] += 0.1


@pytest.mark.slow
def test_a_flood_of_live_calls_from_one_address_leaves_another_addresss_canvas_answered(raw, trusted_proxy):
    from nin.dev.attack import server_rows as attack_server

    # 16 flooding threads here: the in-process server shares this process's interpreter with them
    # (nin.dev.attack --launch sends 60 to a server of its own).
    found = attack_server.row_live_fairness(raw, flooders=16, calls=30)
    print("live fairness", found)
    assert found["share"] >= 0.8, found


def test_ink_with_compressed_text_chunks_is_refused_before_it_is_opened(raw):
    from nin.dev.attack import server_rows as attack_server

    found = attack_server.row_text_chunks(raw)
    assert found["chars"] <= 30_000 and not found["answered"] and "text or colour-profile chunks" in found["says"], found
    assert found["seconds"] <= SECONDS


def test_a_canvas_export_passes_the_chunk_check():
    import base64

    from nin.ui.png_chunks import inflated_bytes

    assert inflated_bytes(base64.b64decode(attack.drawing_ink().split(",", 1)[1])) == 0


def test_a_refused_live_call_cannot_make_a_sessions_full_explanation_stale(raw):
    from nin.dev.attack import server_rows as attack_server

    found = attack_server.row_stale_seq(raw)
    assert "not valid base64" in found["forged_says"] and found["drawn_label"] == "Trouser", found


# ----------------------------------------------------------------------------- refusals in the log

def test_a_flood_of_refusals_writes_a_line_a_second_per_kind(raw, capfd):
    from nin.dev.attack import server_rows as attack_server

    rate_log.reset()
    capfd.readouterr()
    found = attack_server.row_refusal_flood(raw, refusals=300, threads=4)
    written = "".join(capfd.readouterr())
    assert found["refused"] == 300, found
    lines = [line for line in written.splitlines() if line.strip()]
    assert len(written.encode()) <= 10_000 * 300 / 1000, (len(written.encode()), lines[:5])  # <= 10 KB per 1,000
    assert "Traceback" not in written
    assert len(lines) <= 2 * (math.ceil(found["seconds"]) + 1), lines  # a line a second for each of <= 2 kinds
