"""Render a MIDI drum part with sampled drum kits: Hydrogen's drumkits (Debian's hydrogen-drumkits) and kits made
from Sonic Pi's one-shot drum samples (sonic-pi-samples). More real drum timbres than the GM soundfonts give.

fluidsynth cannot read Hydrogen kits, so this is a small sampler: every note-on of the drum channel starts the
sample of the kit instrument that plays that General MIDI drum note, at the note's velocity, panned as the kit says.
Kit instruments are matched to GM notes by their names ("Kick", "Hi-Hat Closed", "Tom Low", ...), since Hydrogen
kits do not say which note plays what. A note whose instrument the kit lacks falls back to a related one (pedal hat
-> closed hat, splash -> crash) or is dropped. Instruments in one of the kit's mute groups cut each other off (an
open hi-hat stops when the closed one is struck).

Kits qualify when they have a kick, a snare and a closed hi-hat, and all their samples are at 44.1 kHz or more
(a 22 kHz kit would make "band stops at 11 kHz" a cue for drums); 48 kHz samples are resampled by sox.
"""
from __future__ import annotations

import bisect
import functools
import glob
import os
import random
import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np

from . import midi

SAMPLE_RATE = 44100
HYDROGEN_KITS = "/usr/share/hydrogen/data/drumkits"
SONIC_PI_SAMPLES = "/usr/share/sonic-pi/samples"

# General MIDI drum notes -> role, and the roles tried when a kit lacks one
GM_ROLES = {
    35: "kick",
    36: "kick",
    37: "stick",
    38: "snare",
    40: "snare",
    39: "clap",
    42: "hat_closed",
    44: "hat_pedal",
    46: "hat_open",
    41: "tom_low",
    43: "tom_low",
    45: "tom_mid",
    47: "tom_mid",
    48: "tom_high",
    50: "tom_high",
    49: "crash",
    57: "crash",
    51: "ride",
    59: "ride",
    53: "ride_bell",
    52: "china",
    55: "splash",
    54: "tambourine",
    56: "cowbell",
}
FALLBACK = {
    "stick": ["snare"],
    "clap": ["snare"],
    "hat_pedal": ["hat_closed"],
    "hat_open": ["hat_closed"],
    "tom_low": ["tom_mid", "tom_high"],
    "tom_mid": ["tom_low", "tom_high"],
    "tom_high": ["tom_mid", "tom_low"],
    "crash": ["ride"],
    "ride": ["crash"],
    "ride_bell": ["ride", "crash"],
    "china": ["crash"],
    "splash": ["crash"],
}
REQUIRED = ("kick", "snare", "hat_closed")
FADE_S = 0.01  # a choked sample fades out over this long


def role_of(name: str) -> str | None:
    """The GM role a kit instrument plays, from its name; None for anything else (effects, latin, unnamed)."""
    n = name.lower()
    if re.search(r"kick|bass ?drum|\bbd\b", n):
        return "kick"
    if re.search(r"side ?stick|\bstick\b|rim ?click", n):
        return "stick"
    if "snare" in n:
        return "snare" if "roll" not in n else None
    if "clap" in n:
        return "clap"
    if re.search(r"hi-?hat|\bhh\b|\bhat\b", n):
        if re.search(r"swish|choke|free|side", n):
            return None
        if re.search(r"pedal|\bpd\b", n):
            return "hat_pedal"
        if re.search(r"open|\bop\b|semi", n):
            return "hat_open"
        return "hat_closed"
    if re.search(r"\btom", n):  # not "Custom"
        if re.search(r"floor|low|\blo\b", n):
            return "tom_low"
        if re.search(r"mid|\b2\b", n):
            return "tom_mid"
        return "tom_high"
    if "china" in n:
        return "china"
    if "splash" in n:
        return None if "choke" in n else "splash"
    if re.search(r"bell|cup", n) and "ride" in n:
        return "ride_bell"
    if "ride" in n:
        return "ride"
    if "crash" in n:
        return "crash"
    if "cowbell" in n:
        return "cowbell"
    if "tambourine" in n:
        return "tambourine"
    return None


@dataclass
class Layer:
    path: str
    lo: float  # velocity range, 0..1
    hi: float
    gain: float


@dataclass
class Instrument:
    name: str
    role: str
    layers: list[Layer]
    gain: float = 1.0
    pan: tuple[float, float] = (1.0, 1.0)  # left, right gains
    mute_group: int = -1


@dataclass
class Kit:
    name: str
    license: str
    instruments: dict[str, list[Instrument]] = field(default_factory=dict)  # role -> candidates

    def usable(self) -> bool:
        return all(self.instruments.get(r) for r in REQUIRED)


def _text(el, tag: str, default: str = "") -> str:
    found = el.find(tag)
    return found.text.strip() if found is not None and found.text else default


def _sample_rate(path: str) -> int:
    r = subprocess.run(["soxi", "-r", path], capture_output=True, text=True)
    return int(r.stdout.strip()) if r.returncode == 0 and r.stdout.strip().isdigit() else 0


def load_hydrogen_kit(folder: str) -> Kit:
    root = ET.parse(os.path.join(folder, "drumkit.xml")).getroot()
    for el in root.iter():  # drop the XML namespace, whichever the kit's version uses
        el.tag = el.tag.split("}")[-1]
    kit = Kit(name=_text(root, "name", os.path.basename(folder)), license=_text(root, "license", "see the kit"))
    for ins in root.iter("instrument"):
        name = _text(ins, "name")
        role = role_of(name)
        if role is None:
            continue
        layers = []
        for layer in ins.iter("layer"):
            path = os.path.join(folder, _text(layer, "filename"))
            if os.path.exists(path):
                layers.append(
                    Layer(
                        path,
                        float(_text(layer, "min", "0")),
                        float(_text(layer, "max", "1")),
                        float(_text(layer, "gain", "1")),
                    )
                )
        if not layers and _text(ins, "filename"):  # the oldest format: one sample, no layers
            path = os.path.join(folder, _text(ins, "filename"))
            if os.path.exists(path):
                layers.append(Layer(path, 0.0, 1.0, 1.0))
        if not layers:
            continue
        if ins.find("pan_L") is not None:
            pan = (float(_text(ins, "pan_L", "1")), float(_text(ins, "pan_R", "1")))
        else:  # newer kits: one pan value in [-1, 1]
            p = float(_text(ins, "pan", "0"))
            pan = (min(1.0, 1.0 - p), min(1.0, 1.0 + p))
        gain = float(_text(ins, "volume", "1")) * float(_text(ins, "gain", "1"))
        kit.instruments.setdefault(role, []).append(
            Instrument(name, role, layers, gain, pan, int(float(_text(ins, "muteGroup", "-1"))))
        )
    return kit


def sonic_pi_kits(folder: str = SONIC_PI_SAMPLES) -> list[Kit]:
    """Two kits from Sonic Pi's one-shots (CC0 samples from freesound): an acoustic one with soft/hard layers and
    an electronic one."""

    def one(name, role, soft, hard=None, mute=-1):
        paths = [os.path.join(folder, f + ".flac") for f in ([soft, hard] if hard else [soft])]
        if not all(os.path.exists(p) for p in paths):
            return None
        layers = (
            [Layer(paths[0], 0.0, 0.6, 1.0), Layer(paths[1], 0.6, 1.0, 1.0)]
            if hard
            else [Layer(paths[0], 0.0, 1.0, 1.0)]
        )
        return Instrument(name, role, layers, mute_group=mute)

    acoustic = [
        one("kick", "kick", "drum_bass_soft", "drum_bass_hard"),
        one("heavy kick", "kick", "drum_heavy_kick"),
        one("snare", "snare", "drum_snare_soft", "drum_snare_hard"),
        one("closed hat", "hat_closed", "drum_cymbal_closed", mute=0),
        one("pedal hat", "hat_pedal", "drum_cymbal_pedal", mute=0),
        one("open hat", "hat_open", "drum_cymbal_open", mute=0),
        one("crash", "crash", "drum_cymbal_soft", "drum_cymbal_hard"),
        one("splash", "splash", "drum_splash_soft", "drum_splash_hard"),
        one("tom low", "tom_low", "drum_tom_lo_soft", "drum_tom_lo_hard"),
        one("tom mid", "tom_mid", "drum_tom_mid_soft", "drum_tom_mid_hard"),
        one("tom high", "tom_high", "drum_tom_hi_soft", "drum_tom_hi_hard"),
        one("cowbell", "cowbell", "drum_cowbell"),
    ]
    kicks = (
        "bd_808",
        "bd_ada",
        "bd_boom",
        "bd_fat",
        "bd_haus",
        "bd_klub",
        "bd_pure",
        "bd_tek",
        "bd_zum",
        "elec_hollow_kick",
        "elec_soft_kick",
    )
    snares = (
        "sn_dolf",
        "sn_dub",
        "sn_generic",
        "sn_zome",
        "elec_snare",
        "elec_hi_snare",
        "elec_mid_snare",
        "elec_lo_snare",
        "elec_filt_snare",
    )
    electronic = (
        [one(f, "kick", f) for f in kicks]
        + [one(f, "snare", f) for f in snares]
        + [
            one("tick", "hat_closed", "elec_tick"),
            one("cymbal", "crash", "elec_cymbal"),
            one("fuzz tom", "tom_mid", "elec_fuzz_tom"),
            one("clap", "clap", "perc_snap"),
        ]
    )
    kits = []
    for name, instruments in (("Sonic Pi acoustic", acoustic), ("Sonic Pi electronic", electronic)):
        kit = Kit(name=name, license="CC0 (freesound samples shipped by Sonic Pi)")
        for ins in instruments:
            if ins is not None:
                kit.instruments.setdefault(ins.role, []).append(ins)
        if kit.usable():
            kits.append(kit)
    return kits


@functools.lru_cache(maxsize=None)
def available_kits() -> tuple[Kit, ...]:
    """Every usable kit on this machine, in a fixed order."""
    kits = []
    for xml in sorted(glob.glob(os.path.join(HYDROGEN_KITS, "*", "drumkit.xml"))):
        kit = load_hydrogen_kit(os.path.dirname(xml))
        paths = {layer.path for group in kit.instruments.values() for ins in group for layer in ins.layers}
        if kit.usable() and all(_sample_rate(p) >= SAMPLE_RATE for p in sorted(paths)):
            kits.append(kit)
    kits.extend(sonic_pi_kits())
    return tuple(kits)


@functools.lru_cache(maxsize=512)
def load_sample(path: str) -> np.ndarray:
    """[n, 2] float32 at 44.1 kHz (sox decodes FLAC/AIFF/WAV and resamples)."""
    r = subprocess.run(["sox", path, "-t", "f32", "-r", str(SAMPLE_RATE), "-c", "2", "-"], capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"sox could not read {path}: {r.stderr.decode(errors='replace')[-300:]}")
    return np.frombuffer(r.stdout, dtype="<f4").reshape(-1, 2)


def note_times(song: midi.MidiFile) -> list[tuple[float, int, int]]:
    """(seconds, note, velocity) of every drum-channel note-on, through the song's tempo map."""
    tempos = sorted(
        (ev.tick, int.from_bytes(ev.data[3:6], "big"))
        for track in song.tracks
        for ev in track
        if ev.data[:2] == b"\xFF\x51" and len(ev.data) >= 6
    )
    notes = sorted(
        (ev.tick, ev.data[1], ev.data[2])
        for track in song.tracks
        for ev in track
        if ev.channel == midi.DRUM_CHANNEL and ev.kind == 0x90 and ev.data[2] > 0
    )
    out, t_tick, t_sec, tempo, i = [], 0, 0.0, 500_000, 0
    for tick, note, vel in notes:
        while i < len(tempos) and tempos[i][0] <= tick:
            t_sec += (tempos[i][0] - t_tick) * tempo / 1e6 / song.division
            t_tick, tempo = tempos[i]
            i += 1
        out.append((t_sec + (tick - t_tick) * tempo / 1e6 / song.division, note, vel))
    return out


def choose_instruments(kit: Kit, rng: random.Random) -> dict[str, Instrument]:
    """One instrument per role for this song (a kit may hold several kicks or snares)."""
    return {role: rng.choice(group) for role, group in sorted(kit.instruments.items())}


def render(song: midi.MidiFile, kit: Kit, rng: random.Random, seconds: float | None = None) -> np.ndarray:
    """The drum part of `song` played on `kit`: [n, 2] float32 at 44.1 kHz, dry, at the kit's own level."""
    chosen = choose_instruments(kit, rng)
    voices = []  # (start sample, instrument, sample data, gain)
    for t, note, vel in note_times(song):
        role = GM_ROLES.get(note)
        if role is None:
            continue
        ins = next((chosen[r] for r in [role, *FALLBACK.get(role, [])] if r in chosen), None)
        if ins is None:
            continue
        v = vel / 127.0
        layer = next((x for x in ins.layers if x.lo <= v <= x.hi), ins.layers[-1])
        voices.append((int(round(t * SAMPLE_RATE)), ins, load_sample(layer.path), v * layer.gain * ins.gain))
    end = max((s + len(x) for s, _, x, _ in voices), default=0)
    n = max(end, int(round(seconds * SAMPLE_RATE)) if seconds else 0)
    out = np.zeros((n, 2), np.float32)
    fade = int(FADE_S * SAMPLE_RATE)
    group_starts: dict[int, list[int]] = {}
    for start, ins, _, _ in voices:  # voices are in time order
        if ins.mute_group >= 0:
            group_starts.setdefault(ins.mute_group, []).append(start)
    for start, ins, x, gain in voices:
        stop = start + len(x)
        if ins.mute_group >= 0:  # the next note of the same mute group chokes this one
            starts = group_starts[ins.mute_group]
            i = bisect.bisect_right(starts, start)
            if i < len(starts) and starts[i] < stop:
                stop = starts[i] + fade
        stop = min(stop, n)
        seg = x[: stop - start] * (gain * np.asarray(ins.pan, np.float32))
        if stop - start < len(x):
            m = min(fade, len(seg))
            seg = seg.copy()
            seg[len(seg) - m :] *= np.linspace(1.0, 0.0, m, dtype=np.float32)[:, None]
        out[start:stop] += seg
    return out


def room(x: np.ndarray, rng: random.Random) -> np.ndarray:
    """A seeded small-room reverb (exponentially decaying stereo noise), mixed in at a random level."""
    from scipy.signal import fftconvolve

    g = np.random.default_rng(rng.randrange(1 << 31))
    t60 = rng.uniform(0.2, 0.9)
    n = int(t60 * SAMPLE_RATE)
    decay = np.exp(-6.9 * np.arange(n) / n).astype(np.float32)
    wet = rng.uniform(0.05, 0.3)
    out = x.copy()
    for c in range(2):
        ir = g.standard_normal(n).astype(np.float32) * decay
        ir /= np.sqrt((ir**2).sum())
        out[:, c] += wet * fftconvolve(x[:, c], ir)[: len(x)].astype(np.float32)
    return out
