"""Pack rendered stems and MIR-1K singing into a small, lossy training pack for the GPU machine (<= ~60 MiB).

Why this format: the GPU machine can receive 64 MiB per run and has only numpy/scipy/torch, so the pack is mono
8-bit mu-law streams compressed with lzma (stdlib). Every synthetic stem is stored at 44.1 kHz: an earlier pack kept
each stem at the lowest rate it seemed to need (bass 16 kHz, other 32 kHz), and the network learned those band
edges as the cue for which stem is which, and failed on clean audio (see models/xumx-studio-small/MODEL_CARD.md).
MIR-1K vocals stay at their native 16 kHz, and so does each clip's own karaoke track ("karaoke": training mixes
the two as they were recorded, low-passed like them; see MixSampler.p_karaoke). Training songs' voice leads
("voicelead", 44.1 kHz) can stand in for the vocals (MixSampler.p_voicelead). Training pans the mono stems back to
stereo at random. Every stem of a song sits at the same time offset in its stream, so a song's stems stay aligned.

  /usr/bin/python3 training/data/pack.py --synth training/data/build/synth \
      --mir1k training/data/build/mir1k/dataset/mir-1k/Wavfile --out .carry/xumx-data

Writes OUT/<stem>.u8.xz and OUT/index.json. Test songs and test singers are never packed. The pack travels to the
GPU machine together with the repository's tracked files (the bundled model alone is 22 MiB) under one 64 MiB limit,
so it must stay under --max-mib; a pack over it is not written.
"""
from __future__ import annotations

import argparse
import glob
import json
import lzma
import os
import random
import shutil
import sys
import warnings

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data import mulaw  # noqa: E402
from data.splits import mir1k_split, synth_split  # noqa: E402

RATES = {"drums": 44100, "other": 44100, "bass": 44100, "vocals": 16000, "karaoke": 16000, "voicelead": 44100}
SYNTH_STEMS = ("bass", "drums", "other")


def load_mono(path: str, rate: int) -> np.ndarray | None:
    if not os.path.exists(path):
        return None
    sr, x = read_wav(path)
    if x.ndim == 2:
        x = x.mean(axis=1)
    return resample(x, sr, rate)


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    if src == dst:
        return x
    g = np.gcd(src, dst)
    return resample_poly(x, dst // g, src // g).astype(np.float32)


def read_wav(path: str) -> tuple[int, np.ndarray]:
    """-> (rate, float32 samples [n] or [n, channels]) from 16-bit or float WAV."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", wavfile.WavFileWarning)  # fluidsynth's LIST chunk
        sr, x = wavfile.read(path)
    return sr, (x.astype(np.float32) / 32768.0 if x.dtype == np.int16 else x.astype(np.float32))


class Streams:
    """Per-stem growing mu-law byte streams."""

    def __init__(self):
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in RATES}
        self.length = {k: 0 for k in RATES}

    def add(self, stem: str, x: np.ndarray) -> tuple[int, float]:
        peak = float(np.abs(x).max()) if x.size else 0.0
        scale = peak if peak > 1e-6 else 1.0
        q = mulaw.encode(x / scale) if peak > 1e-6 else np.full(x.shape, 128, np.uint8)
        offset = self.length[stem]
        self.parts[stem].append(q)
        self.length[stem] += q.size
        return offset, (scale if peak > 1e-6 else 0.0)

    def write(self, out: str) -> dict[str, int]:
        sizes = {}
        for stem, parts in self.parts.items():
            data = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
            path = os.path.join(out, f"{stem}.u8.xz")
            with open(path, "wb") as f:
                f.write(lzma.compress(data.tobytes(), preset=6))
            sizes[stem] = os.path.getsize(path)
        return sizes


def excerpts_of(song: str) -> int:
    """How many excerpts a song gives: long packaged MIDI songs two, the long recorded guitar tracks (few, and the
    only recorded stems) four, generated songs one."""
    return 4 if song.startswith("fof-") else 2 if song.startswith("midi-") else 1


def pack_synth(streams: Streams, songs: list[str], seconds: float, budget_s: float, rng: random.Random) -> list:
    entries, total = [], 0.0
    for song_dir in songs:
        name = os.path.basename(song_dir)
        split = synth_split(name)
        if split == "test":
            continue
        stems = {s: load_mono(os.path.join(song_dir, f"{s}.wav"), 44100) for s in SYNTH_STEMS}
        length = max((len(x) for x in stems.values() if x is not None), default=0)
        if length < 44100 * 3:
            continue
        n_excerpts = excerpts_of(name)
        for k in range(n_excerpts):
            dur = min(seconds, length / 44100)
            start = rng.randint(0, max(0, length - int(dur * 44100)))
            entry = {"name": f"{name}#{k}", "split": split, "dur": dur, "offset": {}, "scale": {}}
            for stem in SYNTH_STEMS:
                x = stems[stem]
                seg = np.zeros(int(dur * 44100), np.float32)
                if x is not None:
                    part = x[start : start + seg.size]
                    seg[: part.size] = part
                seg = resample(seg, 44100, RATES[stem])[: int(dur * RATES[stem])]
                entry["offset"][stem], entry["scale"][stem] = streams.add(stem, seg)
            entries.append(entry)
            total += dur
        if total >= budget_s:
            break
    return entries


def pack_voiceleads(streams: Streams, songs: list[str], seconds: float, budget_s: float, rng: random.Random) -> list:
    """Excerpts of the training songs' voice leads (render_synth.py: a melody on a GM voice, full-band), in the
    order given, up to budget_s; MixSampler.p_voicelead puts them in place of MIR-1K vocals now and then."""
    entries, total = [], 0.0
    for song_dir in songs:
        name = os.path.basename(song_dir)
        if total >= budget_s or synth_split(name) != "train":
            continue
        x = load_mono(os.path.join(song_dir, "voicelead.wav"), 44100)
        if x is None or x.size < 44100 * 3:
            continue
        n = min(int(seconds * 44100), x.size)
        start = rng.randint(0, x.size - n)
        entry = {"name": name, "split": "train", "dur": n / 44100, "offset": {}, "scale": {}}
        entry["offset"]["voicelead"], entry["scale"]["voicelead"] = streams.add("voicelead", x[start : start + n])
        entries.append(entry)
        total += n / 44100
    return entries


def pack_vocals(streams: Streams, clips: list[str], budget_s: float) -> list:
    entries, total = [], {"train": 0.0, "valid": 0.0}
    for path in clips:
        name = os.path.basename(path)[:-4]
        split = mir1k_split(name)
        if split == "test" or total[split] >= (budget_s if split == "train" else 60.0):
            continue
        sr, x = read_wav(path)
        # MIR-1K: left accompaniment, right singing voice
        vocals, karaoke = resample(x[:, 1], sr, RATES["vocals"]), resample(x[:, 0], sr, RATES["karaoke"])
        entry = {"name": name, "split": split, "dur": len(vocals) / RATES["vocals"], "offset": {}, "scale": {}}
        for stem, y in (("vocals", vocals), ("karaoke", karaoke)):
            entry["offset"][stem], entry["scale"][stem] = streams.add(stem, y)
        entries.append(entry)
        total[split] += len(vocals) / RATES["vocals"]
    return entries


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--synth", required=True)
    ap.add_argument("--mir1k", help="MIR-1K Wavfile folder (optional)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds-per-song", type=float, default=8.0)
    ap.add_argument("--synth-minutes", type=float, default=10.0)
    ap.add_argument("--vocal-minutes", type=float, default=10.0)
    ap.add_argument(
        "--voicelead-minutes",
        type=float,
        default=1.2,
        help="training songs' voice leads (GM voice melodies, full-band) to pack",
    )
    ap.add_argument(
        "--voicelead-seconds",
        type=float,
        default=4.0,
        help="length of each song's voice lead excerpt (short: more songs, voices and soundfonts)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--max-mib", type=float, default=38.0, help="largest pack allowed: 64 MiB per GPU call minus the tracked files"
    )
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    streams = Streams()
    songs = sorted(d for d in glob.glob(os.path.join(args.synth, "*")) if os.path.exists(os.path.join(d, "song.json")))
    rng.shuffle(songs)
    songs.sort(key=lambda d: not os.path.basename(d).startswith("fof-"))  # the few recorded stems always go in
    synth = pack_synth(streams, songs, args.seconds_per_song, args.synth_minutes * 60, rng)
    leads = pack_voiceleads(
        streams, songs, args.voicelead_seconds, args.voicelead_minutes * 60, random.Random(args.seed + 2)
    )
    vocals = []
    if args.mir1k and os.path.isdir(args.mir1k):
        clips = sorted(glob.glob(os.path.join(args.mir1k, "*.wav")))
        random.Random(args.seed + 1).shuffle(clips)
        vocals = pack_vocals(streams, clips, args.vocal_minutes * 60)
    staging = args.out.rstrip("/") + ".partial"
    os.makedirs(staging, exist_ok=True)
    sizes = streams.write(staging)
    mib = sum(sizes.values()) / 2**20
    if mib > args.max_mib:
        shutil.rmtree(staging)
        print(
            f"pack.py: the pack for {args.out} would be {mib:.1f} MiB, over --max-mib {args.max_mib:g}: "
            "nothing written; lower --synth-minutes or --vocal-minutes",
            file=sys.stderr,
        )
        return 1
    index = {
        "format": "xumx-pack-1",
        "codec": "mu-law-8bit+lzma",
        "rates": RATES,
        "songs": synth,
        "vocals": vocals,
        "voicelead": leads,
        "files": {s: f"{s}.u8.xz" for s in RATES},
        "bytes": sizes,
    }
    with open(os.path.join(staging, "index.json"), "w") as f:
        json.dump(index, f)
    if os.path.isdir(args.out):  # replace an older pack whole
        shutil.rmtree(args.out)
    os.replace(staging, args.out)
    summary = {
        "songs": {s: sum(e["split"] == s for e in synth) for s in ("train", "valid")},
        "song_minutes": round(sum(e["dur"] for e in synth) / 60, 2),
        "vocal_clips": {s: sum(e["split"] == s for e in vocals) for s in ("train", "valid")},
        "vocal_minutes": round(sum(e["dur"] for e in vocals) / 60, 2),
        "voicelead_minutes": round(sum(e["dur"] for e in leads) / 60, 2),
        "mib": round(sum(sizes.values()) / 2**20, 2),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
