"""The training pack (training/data/pack.py) loaded into 44.1 kHz tensors, and a sampler of augmented mixtures.

Needs only numpy, scipy and torch, so it runs on the GPU machine. Stems are mono in the pack; the sampler pans each
one to stereo, so what the network sees is a stereo mix of known stems.
"""
from __future__ import annotations

import json
import lzma
import math
import os
import sys

import numpy as np
import torch
from scipy.fft import irfft, next_fast_len, rfft
from scipy.signal import resample_poly

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data import mulaw  # noqa: E402
from .model import SOURCES  # noqa: E402

RATE = 44100
VOCAL_TARGET_RMS = 0.03  # about the RMS of a rendered accompaniment: vocals near 0 dB against it


def _to_44k(x: np.ndarray, rate: int) -> np.ndarray:
    if rate == RATE:
        return x
    g = math.gcd(rate, RATE)
    return resample_poly(x, RATE // g, rate // g).astype(np.float32)


def extend_vocal_band(x: np.ndarray, cutoff_hz: float = 7000.0, level: float = 0.12) -> np.ndarray:
    """MIR-1K singing stops at 8 kHz; real vocals do not. Add a soft exciter band (harmonics of x*|x| above the
    cutoff, at `level` times the clip's RMS) so the network does not learn that vocals never reach upper bins."""
    n = x.size
    size = next_fast_len(n, real=True)
    spec = rfft(x * np.abs(x), size)
    spec[: int(cutoff_hz * size / RATE)] = 0
    high = irfft(spec, size)[:n]
    gain = level * np.sqrt(np.mean(x ** 2)) / max(float(np.sqrt(np.mean(high ** 2))), 1e-8)
    return (x + gain * high).astype(np.float32)


class Pack:
    """Decoded streams at 44.1 kHz plus the song/clip tables, split by `split`."""

    def __init__(self, folder: str, split: str, device="cpu"):
        with open(os.path.join(folder, "index.json")) as f:
            index = json.load(f)
        self.songs = [s for s in index["songs"] if s["split"] == split]
        self.clips = [c for c in index["vocals"] if c["split"] == split]
        self.streams: dict[str, torch.Tensor] = {}
        for stem in ("bass", "drums", "other"):
            self.streams[stem] = self._decode_entries(folder, index, stem, self.songs)
        self.song_bounds = self._bounds(self.songs)
        self.streams["vocals"] = self._decode_entries(folder, index, "vocals", self.clips, normalise=True)
        self.clip_bounds = self._bounds(self.clips)
        for k in self.streams:
            self.streams[k] = self.streams[k].to(device)
        self.device = device

    @staticmethod
    def _bounds(entries) -> torch.Tensor:
        """[n, 2] start and length (samples at 44.1 kHz) of each entry in its re-laid 44.1 kHz stream."""
        lengths = [int(e["dur"] * RATE) for e in entries]
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if lengths else np.zeros(0)
        return torch.tensor(np.stack([starts, lengths], 1) if lengths else np.zeros((0, 2)), dtype=torch.long)

    @staticmethod
    def _decode_entries(folder, index, stem, entries, normalise=False) -> torch.Tensor:
        with open(os.path.join(folder, index["files"][stem]), "rb") as f:
            codes = np.frombuffer(lzma.decompress(f.read()), np.uint8)
        rate = index["rates"][stem]
        out = []
        for e in entries:
            offset = e["offset"][stem] if isinstance(e["offset"], dict) else e["offset"]
            scale = e["scale"][stem] if isinstance(e["scale"], dict) else e["scale"]
            n_src = int(round(e["dur"] * rate))
            x = mulaw.decode(codes[offset:offset + n_src]) * scale
            x = _to_44k(x, rate)
            n = int(e["dur"] * RATE)
            x = np.pad(x, (0, max(0, n - x.size)))[:n]
            if normalise and scale > 0:
                x = extend_vocal_band(x)
                x = x * (VOCAL_TARGET_RMS / max(float(np.sqrt(np.mean(x ** 2))), 1e-6))
            out.append(x.astype(np.float32))
        return torch.from_numpy(np.concatenate(out)) if out else torch.zeros(0)


class MixSampler:
    """Draws batches of stereo mixtures and their four stems from a Pack, with X-UMX-style augmentation:
    random gain per stem, random pan (which also swaps channels), stems from different songs, random silence of a
    source, and a joint pitch/tempo change by resampling (cheap: one linear interpolation per stem)."""

    def __init__(self, pack: Pack, seconds: float = 6.0, p_same_song: float = 0.4, p_silence: float = 0.1,
                 p_no_vocals: float = 0.2, gain_db: tuple[float, float] = (-9.0, 3.0), speed: float = 0.08):
        self.pack = pack
        self.n = int(seconds * RATE)
        self.p_same_song, self.p_silence, self.p_no_vocals = p_same_song, p_silence, p_no_vocals
        self.gain_db, self.speed = gain_db, speed

    def _gather(self, stream, bounds, idx, rate, g) -> torch.Tensor:
        """Crops [B, n] from entries idx at random offsets, read at `rate` times normal speed."""
        dev = stream.device
        start, length = bounds[idx, 0].to(dev), bounds[idx, 1].to(dev)
        span = (self.n * rate).ceil().long()
        room = (length - span).clamp_min(0).float()
        offset = (torch.rand(len(idx), generator=g, device="cpu").to(dev) * room).floor()
        pos = offset[:, None] + rate[:, None] * torch.arange(self.n, device=dev, dtype=torch.float32)[None]
        inside = pos < (length[:, None] - 1).float()
        pos = torch.minimum(pos, (length[:, None] - 2).clamp_min(0).float())
        i0 = pos.floor().long()
        frac = pos - i0.float()
        base = start[:, None] + i0
        x = stream[base] * (1 - frac) + stream[base + 1] * frac
        return x * inside

    def batch(self, size: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """-> mixture [B, 2, n], stems [4, B, 2, n] in SOURCES order."""
        dev = self.pack.device
        n_songs = len(self.pack.songs)

        def rnd(*shape):
            return torch.rand(*shape, generator=g).to(dev)

        same = rnd(size) < self.p_same_song
        song_of = {}
        shared = torch.randint(n_songs, (size,), generator=g)
        shared_rate = 1 + (torch.rand(size, generator=g) * 2 - 1) * self.speed
        stems = []
        for source in SOURCES:
            if source == "vocals":
                if len(self.pack.clips) == 0:
                    stems.append(torch.zeros(size, self.n, device=dev))
                    continue
                idx = torch.randint(len(self.pack.clips), (size,), generator=g)
                rate = 1 + (torch.rand(size, generator=g) * 2 - 1) * self.speed
                x = self._gather(self.pack.streams["vocals"], self.pack.clip_bounds, idx, rate.to(dev), g)
                x = x * (rnd(size, 1) >= self.p_no_vocals)
            else:
                own = torch.randint(n_songs, (size,), generator=g)
                idx = torch.where(same.cpu(), shared, own)
                rate = torch.where(same.cpu(), shared_rate, 1 + (torch.rand(size, generator=g) * 2 - 1) * self.speed)
                x = self._gather(self.pack.streams[source], self.pack.song_bounds, idx, rate.to(dev), g)
                song_of[source] = idx
            stems.append(x)
        mono = torch.stack(stems)  # [4, B, n]
        lo, hi = self.gain_db
        gain = 10 ** ((lo + (hi - lo) * rnd(4, size, 1)) / 20)
        gain = gain * (rnd(4, size, 1) >= self.p_silence)
        # pan: bass and vocals near the centre, drums and other anywhere
        spread = torch.tensor([0.15, 0.6, 0.2, 0.9], device=dev)[:, None]
        angle = math.pi / 4 + (rnd(4, size) * 2 - 1) * spread * math.pi / 4
        pan = torch.stack([torch.cos(angle), torch.sin(angle)], dim=2) * math.sqrt(2)  # [4, B, 2]
        stereo = mono[:, :, None, :] * gain[:, :, None, :] * pan[..., None]
        return stereo.sum(0), stereo
