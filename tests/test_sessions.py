"""Per-session bookkeeping: what each anonymous visitor costs the Space, and what it can still do."""

import datetime
import tracemalloc

import gradio.blocks
import gradio.route_utils
import gradio.state_holder
import httpx
import pytest

from nin.ui.sessions import LeanSessionState

from conftest import require_module

require_module("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    import app  # installs LeanSessionState

    return app.demo


def test_every_place_gradio_creates_a_session_uses_the_lean_state(demo):
    for module in (gradio.state_holder, gradio.blocks, gradio.route_utils):
        assert module.SessionState is LeanSessionState, module.__name__


def test_a_new_session_copies_no_component_config_and_costs_kilobytes_not_hundreds(demo):
    LeanSessionState(demo)  # warm up anything created once
    tracemalloc.start()
    sessions = [LeanSessionState(demo) for _ in range(50)]
    allocated, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert all(s.config_values == {} for s in sessions)
    assert allocated / len(sessions) < 20 * 1024, f"{allocated / len(sessions) / 1024:.0f} KB per session"


def test_state_values_keep_their_time_to_live_and_expire(demo):
    import app

    session = LeanSessionState(demo)
    state = app.page.state
    session[state._id] = {"model": "x"}
    assert session[state._id] == {"model": "x"} and session.config_values == {}
    session._state_ttl[state._id] = (app.SESSION_TTL_S, datetime.datetime.now() - datetime.timedelta(hours=2))
    (_, value, expired), *_ = [entry for entry in session.state_components if entry[0] is state]
    assert value == {"model": "x"} and expired


def test_session_state_follows_a_client_from_prediction_to_lesson(app_url):
    from nin.serve.pipeline import EXAMPLES_DIR

    client = Client(app_url, download_files=False, verbose=False, analytics_enabled=False)
    client.predict(handle_file(str(EXAMPLES_DIR / "test00000_ankle-boot.png")), api_name="/predict")
    result = client.predict("block2", 13, 13, api_name="/mlp_at")  # needs this session's image
    assert result["max_abs_diff"] < 1e-4


def test_deep_link_route_is_refused(app_url):
    client = Client(app_url, download_files=False, verbose=False, analytics_enabled=False)
    client.predict(api_name="/ready")
    response = httpx.get(f"{app_url}/gradio_api/deep_link", params={"session_hash": client.session_hash})
    assert response.status_code == 404
