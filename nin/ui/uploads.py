"""Uploads cannot fill the disk: a per-caller upload rate, and a size budget for Gradio's file cache."""

from __future__ import annotations

import contextlib
import os
import time

from nin.ui.callers import scope_client
from nin.ui.rate_log import rate_log
from nin.ui.request_limits import UPLOAD_BODY_LIMIT, answer

CACHE_BUDGET = 500 << 20            # bytes of Gradio's file cache (uploads and the app's pictures) kept on disk
UPLOAD_BURST = 40 << 20             # bytes one caller may upload at once ...
UPLOAD_RATE = 1 << 20               # ... refilled at this many bytes a second
CACHE_RESCAN_S = 10.0               # how old the cache's measured size may get before it is measured again


class UploadBudget:
    """ASGI middleware: uploads cannot fill the disk.

    Gradio writes every upload to its cache and deletes files only once they are an hour old (delete_cache),
    so a script could write gigabytes an hour. Here, before Gradio reads an upload: the caller's upload rate
    is checked (a token bucket of UPLOAD_BURST bytes refilled at UPLOAD_RATE a second, per caller address),
    and the cache's size plus this upload must fit CACHE_BUDGET, the oldest files being deleted first to
    make room. The size is measured by walking the cache at most every CACHE_RESCAN_S seconds (in a worker
    thread) and counted up in between. A refused upload gets 429 and one rate-limited log line.
    """

    def __init__(self, app, budget: int = CACHE_BUDGET, burst: int = UPLOAD_BURST, rate: float = UPLOAD_RATE,
                 folder: str | None = None):
        self.app, self.budget, self.burst, self.rate = app, budget, burst, rate
        self.folder = folder
        self.buckets: dict[str, tuple[float, float]] = {}   # caller -> (bytes allowed now, when)
        self.used, self.measured_at = 0, -1e9
        self._lock = None

    def cache_folder(self) -> str:
        if self.folder is None:
            from gradio.utils import get_upload_folder

            self.folder = get_upload_folder()
        return self.folder

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope["path"].rstrip("/").endswith("/upload"):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        size = int(declared) if declared.isdigit() and len(declared) < 12 else UPLOAD_BODY_LIMIT
        client = scope_client(scope)
        if not self.take(client, size):
            rate_log.line("upload rate", f"{client}: over {self.burst >> 20} MB at {self.rate / (1 << 20):g} MB/s")
            return await answer(send, 429, "Too many uploads from your address; wait a few seconds and try again.")
        if not await self.make_room(size):
            rate_log.line("upload cache full", f"{size} bytes refused")
            return await answer(send, 429, "The server's upload space is full; try again in a minute.")
        await self.app(scope, receive, send)

    def take(self, client: str, size: int) -> bool:
        now = time.monotonic()
        allowed, then = self.buckets.get(client, (self.burst, now))
        allowed = min(self.burst, allowed + (now - then) * self.rate)
        if size > allowed:
            self.buckets[client] = (allowed, now)
            return False
        self.buckets[client] = (allowed - size, now)
        if len(self.buckets) > 10_000:  # forget callers whose bucket has refilled
            full_after = self.burst / self.rate
            self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < full_after}
        return True

    async def make_room(self, size: int) -> bool:
        """Count `size` bytes into the cache, deleting its oldest files first if they would not fit."""
        import anyio

        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:  # one upload at a time measures and makes room: the count cannot be raced
            if size > self.budget:
                return False
            if time.monotonic() - self.measured_at > CACHE_RESCAN_S or self.used + size > self.budget:
                self.used = await anyio.to_thread.run_sync(cache_size, self.cache_folder())
                self.measured_at = time.monotonic()
            if self.used + size > self.budget:
                self.used = await anyio.to_thread.run_sync(evict_oldest, self.cache_folder(),
                                                           int(0.8 * self.budget) - size)
                self.measured_at = time.monotonic()
                if self.used + size > self.budget:
                    return False
            self.used += size
            return True


def _cache_files(folder: str) -> list[tuple[float, int, str]]:
    """(modified, bytes, path) of every file under `folder`."""
    found = []
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            try:
                stat = os.stat(path, follow_symlinks=False)
            except OSError:
                continue
            found.append((stat.st_mtime, stat.st_size, path))
    return found


def cache_size(folder: str) -> int:
    return sum(size for _, size, _ in _cache_files(folder))


def evict_oldest(folder: str, target: int) -> int:
    """Delete the oldest files under `folder` until at most `target` bytes are left; the bytes left."""
    files = sorted(_cache_files(folder))
    total = sum(size for _, size, _ in files)
    for _, size, path in files:
        if total <= target:
            break
        with contextlib.suppress(OSError):
            os.remove(path)
            total -= size
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(path))  # Gradio keeps each file in a folder of its own
    return total
