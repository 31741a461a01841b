"""nin/ui/session_guard.py as a specification: no caller can push other visitors' sessions out of Gradio's store.

Gradio keeps 2,000 sessions and evicts the oldest; a session is created by any request naming a new hash. Here:
live calls never create one, session hashes are as long as Gradio's own at most, and behind a trusted proxy
one caller may create sessions only at a bounded rate, whatever event it uses.
"""

import pytest

from nin.ui.session_guard import MAX_SESSION_HASH, NEW_SESSION_BURST, UNKNOWN_SESSION
from nin.dev.attack import rows as attack, server_rows as attack_server


@pytest.fixture
def trusted_proxy():
    """The server trusts X-Forwarded-For as a Space's proxy writes it, for one test."""
    from nin.ui import callers

    callers.CLIENT_HEADER = "x-forwarded-for"
    yield
    callers.CLIENT_HEADER = None


def sessions_held() -> int:
    import app

    return len(app.demo.server_app.state_holder.session_data)


def test_a_live_call_for_a_session_the_server_never_saw_creates_none(raw):
    before = sessions_held()
    for _ in range(50):
        response, _ = raw.live(attack.drawing_ink(), attack.new_session(), opened=False)
        assert response.status_code == 200 and response.json() == {"error": UNKNOWN_SESSION}
    assert sessions_held() == before


def test_a_live_call_for_an_open_session_is_answered(raw):
    session = raw.open_session()
    response, _ = raw.live(attack.drawing_ink(), session)
    assert "probs" in response.json()


@pytest.mark.slow
def test_2100_live_calls_under_fresh_session_hashes_leave_the_victims_session(raw):
    found = attack_server.row_fresh_hash_live_calls(raw, calls=2100)
    assert found["calls"] == 2100 and found["victim_kept"], found


def test_one_caller_creates_at_most_its_budget_of_sessions_with_cheap_events(raw, trusted_proxy):
    found = attack_server.row_fresh_session_joins(raw, joins=NEW_SESSION_BURST + 20, client="10.7.1.1")
    assert found["accepted"] <= NEW_SESSION_BURST + 1 and found["refused"] >= 19 and found["other"] == 0, found
    assert found["victim_kept"]
    # another caller is not affected
    other = raw.call("ready", [], attack.new_session(), client="10.7.1.2")
    assert other.success


@pytest.mark.slow
def test_2200_cheap_joins_from_one_address_leave_the_victims_session(raw, trusted_proxy):
    found = attack_server.row_fresh_session_joins(raw, joins=2200, client="10.7.2.1")
    assert found["accepted"] <= NEW_SESSION_BURST + 5 and found["victim_kept"], found


@pytest.mark.parametrize("length", [MAX_SESSION_HASH + 1, 1000, 20_000])
def test_a_session_hash_longer_than_gradios_is_refused_and_not_stored(raw, length):
    before = sessions_held()
    session = "s" * length
    joined = raw.http.post(f"{raw.url}/gradio_api/queue/join",
                           json={"data": [], "fn_index": raw.fn_ids["ready"], "session_hash": session})
    live, _ = raw.live(attack.drawing_ink(), session, opened=False)
    assert joined.status_code == 400 and live.status_code == 400, (joined.text[:200], live.text[:200])
    assert "session hash" in joined.json()["detail"] and sessions_held() == before


def test_gradios_own_session_hashes_are_accepted(raw):
    for session in ["a1b2c3d4e5f", "0f8fad5b-d9cb-469f-a165-70867728950e"]:  # the page's and gradio_client's shapes
        assert raw.call("ready", [], session).success
