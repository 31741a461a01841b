"""Gradio's per-session bookkeeping, made small: what each anonymous visitor or API client costs the Space.

Gradio 6.31 gives every session a `SessionState`. On creation it builds a config dict for each of the page's
~120 components (`config_values`: ~200 KB and ~120 ms of CPU per session, measured with tracemalloc), and on
every event it rebuilds the config of each stateful or updated output and keeps every output's last value
in those dicts (another ~100 KB per session here: the feature-map and GAP HTML). Those copies serve one
feature only, deep links: `/gradio_api/deep_link?session_hash=...` serialises them into a new file on disk
for any session whose hash the caller knows. This app offers no deep links.

`LeanSessionState` keeps everything else of `SessionState` (gr.State values and their time to live,
per-session component updates, eviction by `state_session_capacity`) and drops the copies;
`nin.ui.server.RefuseDeepLinks` answers the deep-link route with 404. `install()` puts the lean class where
Gradio looks it up; app.py calls it at import, before any session exists. Gradio is pinned (requirements.txt), and
tests/test_sessions.py checks the attributes this relies on, so an upgrade that moves them fails loudly.
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import gradio.blocks
import gradio.route_utils
import gradio.state_holder
from gradio.components import State
from gradio.state_holder import SessionState


class LeanSessionState(SessionState):
    """A SessionState without the per-session copy of every component's config."""

    def __init__(self, blocks):
        # Gradio's own __init__ sets every attribute; handed no blocks, it builds no config copies.
        super().__init__(SimpleNamespace(default_config=blocks.default_config, blocks={}))

    def __setitem__(self, key: int, value) -> None:
        """SessionState.__setitem__ without rebuilding the component's config on every event."""
        block = self.blocks_config.blocks.get(key)
        if isinstance(block, State):
            self._state_ttl[key] = (block.time_to_live, datetime.datetime.now())
            self.state_data[key] = value
        else:
            self.blocks_config.blocks[key] = value

    def _update_config(self, key: int) -> None:
        """Kept for deep links only: nothing to do."""

    def _update_value_in_config(self, key: int, value) -> None:
        """Kept for deep links only: nothing to do."""


def install() -> None:
    """Use LeanSessionState wherever Gradio creates a session (its modules bind the name at import)."""
    for module in (gradio.state_holder, gradio.blocks, gradio.route_utils):
        module.SessionState = LeanSessionState

