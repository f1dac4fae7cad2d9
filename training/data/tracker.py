"""Impulse Tracker modules split into bass / drums / other stems by instrument, rendered with xmp.

A tracker song names its instruments ("bass:elwood", "snare:*", "high-strings:jefflim"); where every instrument that
sounds has a name that says what it is, the song is rendered once per instrument, each time with every other
instrument's global volume set to 0 in a copy of the file, and the renders are summed per stem. A song with an
instrument that sounds and has an unclear name ("whee:maz", "Comp12") or a voice ("choir", "ooo") is not used.

Debian's pingus-data ships such modules (GPL). Only IT files in instrument mode (format 2.00 or later) are read.
"""
from __future__ import annotations

import os
import re
import struct
import subprocess
import tempfile

import numpy as np

from .pack import read_wav

SAMPLE_RATE = 44100
MODULE_GLOBS = ["/usr/share/games/pingus/data/music/*.it"]
SILENT_DB = -45.0  # an instrument this far below the loudest one does not count as sounding

DRUMS = re.compile(
    r"kick|bass ?drum|bassdrum|snare|hi-?hat|\bhat\b|hihat|\btom\b|rack tom|crash|cymbal|\bride\b|"
    r"conga|bongo|clap|drum|perc"
)
BASS = re.compile(r"\bbass\b|bass-guitar|bassguitar|analog-bass|synth-?bass")
VOICE = re.compile(r"choir|vox|voice|vocal|ooo|aah|sing")
OTHER = re.compile(
    r"piano|string|flute|guitar|trumpet|brass|organ|vibe|chime|bell|square|saw|pad|harp|clarinet|"
    r"oboe|bassoon|sax|violin|cello|marimba|xylo|lead|pluck"
)


def stem_of(name: str) -> str | None:
    """bass / drums / other from an instrument's name (the part before ':' is the sound, after it the author);
    None when the name does not say, or names a voice."""
    sound = name.split(":")[0].strip().lower()
    if not sound or VOICE.search(sound):
        return None
    if DRUMS.search(sound):
        return "drums"
    if BASS.search(sound) and not re.search(r"bassoon|bass-oboe", sound):
        return "bass"
    return "other" if OTHER.search(sound) else None


def instruments(data: bytes) -> list[tuple[int, str]]:
    """(header offset, name) of each instrument of an IT file in instrument mode; [] for anything else."""
    if data[:4] != b"IMPM" or len(data) < 0xC0:
        return []
    orders, n_ins = struct.unpack_from("<HH", data, 0x20)
    compatible, flags = struct.unpack_from("<HH", data, 0x2A)
    if not flags & 0x04 or compatible < 0x200 or n_ins == 0:
        return []
    offsets = struct.unpack_from(f"<{n_ins}I", data, 0xC0 + orders)
    out = []
    for off in offsets:
        if off + 0x3A > len(data) or data[off : off + 4] != b"IMPI":
            return []
        out.append((off, data[off + 0x20 : off + 0x3A].split(b"\0")[0].decode("latin-1").strip()))
    return out


def with_only(data: bytes, keep: set[int]) -> bytes:
    """A copy of the module in which only the instruments at the given header offsets sound (global volume 0 for
    the others: byte 0x18 of an IT instrument header)."""
    out = bytearray(data)
    for off, _ in instruments(data):
        if off not in keep:
            out[off + 0x18] = 0
    return bytes(out)


def render(data: bytes, max_seconds: int = 600) -> np.ndarray:
    """[n, 2] float32 at 44.1 kHz through xmp (spline interpolation, no looping)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, wav = os.path.join(tmp, "song.it"), os.path.join(tmp, "song.wav")
        with open(src, "wb") as f:
            f.write(data)
        subprocess.run(
            ["xmp", "-q", "-a", "0", "-f", str(SAMPLE_RATE), "-t", str(max_seconds), "-o", wav, src],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, x = read_wav(wav)  # xmp's header counts 4 bytes more than it writes; read_wav takes what is there
    return x.reshape(-1, 2)


def split(path: str) -> tuple[dict[str, np.ndarray], dict] | None:
    """{stem: [n, 2]} and the instrument -> stem choices, or None when the module cannot be split cleanly."""
    with open(path, "rb") as f:
        data = f.read()
    found = instruments(data)
    if not found:
        return None
    renders = {off: render(with_only(data, {off})) for off, _ in found}
    n = max(len(x) for x in renders.values())
    energy = {off: float(np.sum(x.astype(np.float64) ** 2)) for off, x in renders.items()}
    loudest = max(energy.values())
    if loudest <= 0:
        return None
    stems: dict[str, np.ndarray] = {}
    choices = {}
    for off, name in found:
        if energy[off] <= loudest * 10 ** (SILENT_DB / 10):
            continue
        stem = stem_of(name)
        if stem is None:
            return None
        choices[name] = stem
        x = np.zeros((n, 2), np.float32)
        x[: len(renders[off])] = renders[off]
        stems[stem] = stems.get(stem, 0) + x
    return stems, choices
