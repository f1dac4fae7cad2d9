"""Doom WAD files: the Standard MIDI File lumps in them (freedoom stores its music as MIDI, BSD-3-Clause)."""
from __future__ import annotations

import struct

FREEDOOM_WADS = ["/usr/share/games/doom/freedoom1.wad", "/usr/share/games/doom/freedoom2.wad"]


def midi_lumps(path: str) -> dict[str, bytes]:
    """The Standard MIDI File lumps of a Doom WAD (freedoom stores its music as MIDI), by lump name."""
    with open(path, "rb") as f:
        data = f.read()
    ident, count, offset = struct.unpack_from("<4sii", data, 0)
    if ident not in (b"IWAD", b"PWAD"):
        raise ValueError(f"{path}: not a WAD file")
    out = {}
    for i in range(count):
        pos, size, raw = struct.unpack_from("<ii8s", data, offset + 16 * i)
        if data[pos : pos + 4] == b"MThd":
            out[raw.rstrip(b"\0").decode("ascii", "replace")] = data[pos : pos + size]
    return out
