"""Events sent as the browser sends them, for the hostile requests (nin.dev.attack) and the canvas benchmark.

`Raw` joins the queue and reads the session's stream itself, so it reaches what gradio_client will not send:
the private events, NaN, oversized bodies, the canvas's live calls. Loopback only.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from nin.names import EXPORT_SIDE

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "test00000_ankle-boot.png"
PREFIX = "/gradio_api"

# ----------------------------------------------------------------------------- raw queue calls

@dataclass
class Answer:
    """What one request got back."""

    status: int                      # HTTP status of the join (or of the /run call)
    success: bool | None = None      # the event's own verdict, when it ran
    message: str = ""                # the error message shown to the user ("" when none)
    output: list | None = None       # the event's outputs when it succeeded
    response_bytes: int = 0          # bytes the server sent back for this request (join + its event's messages)
    seconds: float = 0.0


class Raw:
    """Events sent as the browser sends them: POST /queue/join, then the session's /queue/data stream.

    Reaches the private events (lesson pages, clicks) that gradio_client will not call, and values that
    gradio_client cannot send (NaN: it encodes JSON with allow_nan=False).
    """

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=60)
        config = self.http.get(f"{self.url}/config").json()
        self.fn_ids = {dep["api_name"]: dep["id"] for dep in config["dependencies"] if dep.get("api_name")}
        self.components = {c["props"].get("elem_id"): c["id"] for c in config["components"]
                           if c.get("props", {}).get("elem_id")}

    def close(self) -> None:
        self.http.close()

    def upload(self, path: Path) -> dict:
        with path.open("rb") as handle:
            (server_path,) = self.http.post(f"{self.url}{PREFIX}/upload",
                                            files={"files": (path.name, handle, "image/png")}).json()
        return {"path": server_path, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def join(self, api_name: str, data, session: str, event_data=None, trigger: str | None = None,
             body: bytes | None = None, client: str | None = None) -> tuple[httpx.Response, str | None]:
        """POST one join; `body` replaces the JSON body (raw bytes: NaN, oversized, malformed); `client` is the
        address a proxy would report (X-Forwarded-For), for a server that trusts that header."""
        payload = {"data": data, "event_data": event_data, "fn_index": self.fn_ids[api_name],
                   "trigger_id": self.components.get(trigger) if trigger else None, "session_hash": session}
        content = body if body is not None else json.dumps(payload).encode()  # allow_nan: NaN goes through
        response = self.http.post(f"{self.url}{PREFIX}/queue/join", content=content,
                                  headers={"content-type": "application/json", **forwarded(client)})
        event = response.json().get("event_id") if response.status_code == 200 else None
        return response, event

    def read(self, session: str, events: set[str], timeout: float = 60) -> dict[str, dict]:
        """The completion message of each event in `events`, from the session's stream; and the bytes read."""
        done, read = {}, 0
        deadline = time.monotonic() + timeout
        with self.http.stream("GET", f"{self.url}{PREFIX}/queue/data", params={"session_hash": session},
                              timeout=timeout) as stream:
            for line in stream.iter_lines():
                read += len(line) + 1
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed" and message.get("event_id") in events:
                    done[message["event_id"]] = message
                if set(done) == events or message.get("msg") == "close_stream" or time.monotonic() > deadline:
                    break
        done["_bytes"] = read
        return done

    def call(self, api_name: str, data, session: str | None = None, event_data=None, trigger: str | None = None,
             body: bytes | None = None, client: str | None = None) -> Answer:
        """One event, joined and read to its end."""
        session = session or new_session()
        start = time.perf_counter()
        response, event = self.join(api_name, data, session, event_data, trigger, body, client)
        answer = Answer(response.status_code, response_bytes=len(response.content))
        if event is None:
            answer.message = response.text[:2000]
        else:
            messages = self.read(session, {event})
            answer.response_bytes += messages.pop("_bytes")
            completed = messages.get(event, {})
            answer.success = completed.get("success")
            output = completed.get("output") or {}
            answer.message = output.get("error") or ""
            answer.output = output.get("data")
        answer.seconds = time.perf_counter() - start
        return answer

    def open_session(self, session: str | None = None, client: str | None = None) -> str:
        """A session the server holds, as a page's load event makes one (the page calls /ready on load)."""
        session = session or new_session()
        opened = self.__dict__.setdefault("opened", set())
        if session not in opened:
            answer = self.call("ready", [], session, client=client)
            if not answer.success:
                raise RuntimeError(f"/ready failed: {answer.message or answer.status}")
            opened.add(session)
        return session

    def live(self, ink, session: str | None = None, seq: int = 1, opened: bool = True,
             client: str | None = None) -> tuple[httpx.Response, float]:
        """One live call of the drawing canvas (POST /component_server, outside the queue), and its seconds.
        The session is opened first, as the page's is, unless `opened` is False (a hash the server never saw)."""
        if opened:
            session = self.open_session(session, client)
        body = {"component_id": self.components["canvas"], "fn_name": "live", "session_hash": session or new_session(),
                "data": {"ink": ink, "seq": seq}}
        start = time.perf_counter()
        response = self.http.post(f"{self.url}{PREFIX}/component_server/", json=body, headers=forwarded(client))
        return response, time.perf_counter() - start

    def session_with_image(self) -> str:
        """A session whose last input is the example image (the lessons work on it)."""
        session = new_session()
        answer = self.call("predict", [self.upload(EXAMPLE), None, "Predicted class", "Top 16 channels by mean"],
                           session)
        if not answer.success:
            raise RuntimeError(f"/predict failed before the attack: {answer.message or answer.status}")
        return session


def new_session() -> str:
    return uuid.uuid4().hex[:11]


def forwarded(client: str | None) -> dict:
    return {"x-forwarded-for": client} if client else {}



def drawing_ink() -> str:
    """A trouser outline as the canvas sends it: a 140 px PNG data URL, white strokes on transparent."""
    import base64
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (EXPORT_SIDE, EXPORT_SIDE))
    ImageDraw.Draw(image).line([(50, 20), (50, 120), (70, 40), (90, 120), (90, 20), (50, 20)], fill="white", width=8)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
