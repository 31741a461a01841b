"""What a PNG makes Pillow inflate before its pixels: read from the chunk list, without opening the image.

Pillow reads a PNG's text chunks (tEXt, zTXt, iTXt) and its colour profile (iCCP) as it opens the file,
inflating each compressed one up to 1 MB (PngImagePlugin.MAX_TEXT_CHUNK) and 64 MB in all. A 30,000-character
drawing can carry twenty such chunks and inflate to 20 MB of text: 100-280 ms to open, against ~35 ms for a
whole live answer. The canvas sends none (a canvas export has no text and no profile), so nin.ui.live_gate
caps them at a few kilobytes as sent, before Pillow sees the file. Changing Pillow's process-wide limits
instead would also refuse ordinary photos whose metadata is larger.
"""

from __future__ import annotations

SIGNATURE = b"\x89PNG\r\n\x1a\n"
INFLATED = frozenset({b"tEXt", b"zTXt", b"iTXt", b"iCCP"})   # read (and inflated) by Pillow on open
MAX_INFLATED_BYTES = 2048    # bytes of those chunks, as sent, a drawing may carry (1,024:1 at most inflated: ~2 MB)


def inflated_bytes(data: bytes) -> int:
    """Bytes, as stored, of the chunks Pillow reads as text or colour profile; 0 for data that is not a PNG
    (the decoder refuses that with its own message)."""
    if not data.startswith(SIGNATURE):
        return 0
    position, total = len(SIGNATURE), 0
    while position + 8 <= len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        if kind in INFLATED:
            total += min(length, len(data) - position - 8)
        if kind == b"IEND":
            break
        position += 12 + length
    return total


__all__ = ["inflated_bytes", "MAX_INFLATED_BYTES", "INFLATED"]
