"""Who is calling: the one reading of a request's caller address, for every per-caller bound.

Behind a Hugging Face Space's proxy every connection comes from the proxy; the caller's own address is the
entry the proxy appends to X-Forwarded-For. Entries left of it are the caller's own to write, and so is any
extra X-Forwarded-For header line: HTTP lets a header be split over several lines, which mean the same as
one line of their values joined by commas. So all lines are joined, in order, and the PROXY_HOPS-th entry
from the right is the caller. Reading only the first line or only the last would let a caller who sends
two lines be counted under an address it chose (or under none), so no bound may read the header any other
way: `client_of` (scope headers, Starlette headers or a plain dict) is the only reader, `scope_client` and
`request_client` its two doors.
"""

from __future__ import annotations

# The header a trusted proxy writes the caller's address into, or None to use the connection's own address.
# Off by default: run locally, the connection's address is the caller's, and a header could be forged by
# anyone. On a Hugging Face Space the proxy appends the caller's address to X-Forwarded-For; app.py reads
# the setting from NIN_CLIENT_HEADER (README, "Running it in public").
CLIENT_HEADER: str | None = None
PROXY_HOPS = 1   # X-Forwarded-For entries, counted from the right, that trusted proxies appended
MAX_ADDRESS = 64  # characters of an address kept as a key


def header_lines(headers, name: str) -> list[str]:
    """Every line of header `name` (lower case), in order: from ASGI (name, value) pairs, Starlette's
    Headers (whose .get reads only the first line) or a plain mapping."""
    if hasattr(headers, "getlist"):
        values = headers.getlist(name)
    elif isinstance(headers, (list, tuple)):
        values = [value for key, value in headers if (key.decode("latin-1") if isinstance(key, bytes) else key).lower()
                  == name]
    elif hasattr(headers, "get"):
        value = headers.get(name)
        value = headers.get(name.encode()) if value is None else value
        values = [] if value is None else [value]
    else:
        values = []
    return [v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values]


def client_of(headers, peer) -> str:
    """The caller's address: with CLIENT_HEADER set, the PROXY_HOPS-th entry from the right of all its lines
    joined; else (or when the header has too few entries) the connection's address."""
    if CLIENT_HEADER:
        joined = ",".join(header_lines(headers, CLIENT_HEADER.lower()))
        entries = [entry.strip() for entry in joined.split(",")] if joined else []
        if len(entries) >= PROXY_HOPS and entries[-PROXY_HOPS]:
            return entries[-PROXY_HOPS][:MAX_ADDRESS]
    if isinstance(peer, (tuple, list)):
        peer = peer[0] if peer else None
    return str(getattr(peer, "host", peer) or "?")[:MAX_ADDRESS]


def scope_client(scope) -> str:
    """The caller of an ASGI request."""
    return client_of(scope.get("headers") or [], scope.get("client"))


def request_client(request) -> str:
    """The caller of a Starlette request, or of a gr.Request (which wraps one)."""
    request = getattr(request, "request", None) or request
    return client_of(getattr(request, "headers", None) or [], getattr(request, "client", None))


__all__ = ["CLIENT_HEADER", "PROXY_HOPS", "client_of", "scope_client", "request_client", "header_lines"]
