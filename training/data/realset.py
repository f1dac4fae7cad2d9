"""The real-music calibration set: recorded singing over recorded bands, with the truth known per part.

Two kinds of item, both from material the project may use (data/LICENSES.md):
- karaoke: a MIR-1K clip as recorded, its singer (right channel) over its karaoke track (left), summed like MIR-1K's
  own mixture; known: vocals and the accompaniment (bass+drums+other together). Scored at MIR-1K's 16 kHz, mono.
- band: 30 s of a Frets on Fire song (its guitar.ogg plus song.ogg, the whole recorded band as the game plays it)
  with MIR-1K singing of the same split laid over it; known: vocals, the accompaniment (the band), and the lead
  guitar, which is "other" and nothing else (whatever else "other" holds in song.ogg is not known). The voice is
  the singer's clips one after another with 0.5-2.5 s rests, at -6 to 0 dB against the band (RMS, drawn per item).
  Scored at 44.1 kHz, stereo.
Each item is scaled as a whole so its mixture peaks at 0.95 at most.

Splits (choose on "valid", report "test"): "valid" is MIR-1K's validation singer, with the Frets on Fire song of the
validation bucket and the four songs whose guitar tracks are in training (their bands never are); "test" is MIR-1K's
test singers with the three songs of the test bucket. Nothing here is MUSDB18.
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass

import numpy as np

from data import recorded
from data.audio import read_wav, resample
from data.splits import MIR1K_TEST_SINGERS, MIR1K_VALID_SINGERS, mir1k_singer, synth_split

RATE = 44100
EXCERPT_S = 30.0
EXCERPTS_AT = (0.3, 0.5, 0.7)  # excerpt starts as fractions of the song, past the intro and before the outro
VOICE_DB = (-6.0, 0.0)
REST_S = (0.5, 2.5)
PEAK = 0.95


@dataclass
class KaraokeItem:
    """A MIR-1K clip: mono [n] at `rate` (16 kHz)."""

    rate: int
    vocals: np.ndarray
    accompaniment: np.ndarray

    def mix(self) -> np.ndarray:
        """[2, n] float32 at 44.1 kHz, the clip's mixture on both channels."""
        return np.repeat(resample(self.vocals + self.accompaniment, self.rate, RATE)[None], 2, 0)


@dataclass
class BandItem:
    """Singing over a recorded band: each [2, n] float32 at 44.1 kHz; `guitar` is part of `band`."""

    vocals: np.ndarray
    band: np.ndarray
    guitar: np.ndarray

    def mix(self) -> np.ndarray:
        return (self.vocals + self.band).astype(np.float32)


def singers(split: str) -> tuple[str, ...]:
    if split == "valid":
        return MIR1K_VALID_SINGERS
    if split == "test":
        return MIR1K_TEST_SINGERS
    raise ValueError(f"realset: no split {split!r} (valid or test)")


def mir1k_clips(wav_dir: str, split: str) -> list[str]:
    names = sorted(f for f in os.listdir(wav_dir) if f.endswith(".wav") and mir1k_singer(f) in singers(split))
    return [os.path.join(wav_dir, f) for f in names]


def band_songs(split: str) -> list[str]:
    """The Frets on Fire song folders of `split` (their guitar.ogg's folder)."""
    buckets = ("valid", "train") if split == "valid" else ("test",) if split == "test" else ()
    if not buckets:
        raise ValueError(f"realset: no split {split!r} (valid or test)")
    return [os.path.dirname(g) for g in recorded.guitar_tracks() if synth_split(recorded.song_name(g)) in buckets]


def decoded(song_dir: str, part: str, cache_dir: str) -> np.ndarray:
    """song_dir/<part>.ogg as [2, n] float32 at 44.1 kHz, decoded once into cache_dir."""
    wav = os.path.join(cache_dir, f"{recorded.song_name(os.path.join(song_dir, 'x'))}-{part}.wav")
    if not os.path.exists(wav):
        os.makedirs(cache_dir, exist_ok=True)
        recorded.decode(os.path.join(song_dir, f"{part}.ogg"), wav, RATE)
    sr, x = read_wav(wav)
    if sr != RATE:
        raise ValueError(f"realset: {wav} is {sr} Hz, not {RATE}")
    return np.repeat(x, 2, 0) if x.shape[0] == 1 else x[:2]


def voice_track(clips: list[str], n: int, rng: np.random.Generator, start: int) -> tuple[np.ndarray, int]:
    """Singing [n] at 44.1 kHz: clips (their right channel) from `start` on, cycling, with rests between;
    -> (voice, index of the next clip)."""
    out = np.zeros(n, np.float32)
    at, i = int(rng.uniform(*REST_S) * RATE), start
    while at < n:
        sr, x = read_wav(clips[i % len(clips)])
        i += 1
        v = resample(x[-1], sr, RATE)[: n - at]
        out[at : at + v.size] = v
        at += v.size + int(rng.uniform(*REST_S) * RATE)
    return out, i


def headroom(mix: np.ndarray) -> float:
    """The gain that brings a mixture's peak to PEAK at most (a mastered song does not clip)."""
    return min(1.0, PEAK / max(float(np.abs(mix).max()), 1e-9))


def karaoke_items(wav_dir: str, split: str) -> dict[str, KaraokeItem]:
    items = {}
    for path in mir1k_clips(wav_dir, split):
        sr, x = read_wav(path)
        g = headroom(x[0] + x[1])
        items["k-" + os.path.basename(path)[:-4]] = KaraokeItem(sr, vocals=g * x[1], accompaniment=g * x[0])
    return items


def singers_in_turn(clips: list[str]) -> list[str]:
    """The clips reordered so that singers take turns (one clip of each, in name order), so that every singer of a
    split sings over the bands and not only the first one's clips."""
    by_singer: dict[str, list[str]] = {}
    for c in clips:
        by_singer.setdefault(mir1k_singer(os.path.basename(c)), []).append(c)
    queues = [by_singer[k] for k in sorted(by_singer)]
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]


def band_items(wav_dir: str, split: str, cache_dir: str) -> dict[str, BandItem]:
    clips = singers_in_turn(mir1k_clips(wav_dir, split))
    items, next_clip = {}, 0
    n = int(EXCERPT_S * RATE)
    for song in band_songs(split):
        name = recorded.song_name(os.path.join(song, "x"))
        guitar, rest = decoded(song, "guitar", cache_dir), decoded(song, "song", cache_dir)
        length = min(guitar.shape[1], rest.shape[1])
        for at in EXCERPTS_AT:
            start = int(at * length)
            if start + n > length:
                continue
            key = f"b-{name[4:]}-{int(at * 100)}"
            rng = np.random.default_rng(zlib.crc32(key.encode()))
            g, band = guitar[:, start : start + n], guitar[:, start : start + n] + rest[:, start : start + n]
            voice, next_clip = voice_track(clips, n, rng, next_clip)
            band_rms = np.sqrt(np.mean(band.astype(np.float64) ** 2))
            voice *= band_rms * 10 ** (rng.uniform(*VOICE_DB) / 20) / max(np.sqrt(np.mean(voice**2)), 1e-8)
            voice = np.repeat(voice[None], 2, 0)
            h = headroom(voice + band)
            items[key] = BandItem(vocals=h * voice, band=(h * band).astype(np.float32), guitar=h * g)
    return items


def real_set(wav_dir: str, split: str, cache_dir: str) -> dict[str, KaraokeItem | BandItem]:
    """Every item of `split`, karaoke clips first; names are unique and safe as file names. Either kind missing is an
    error naming what to install: a set with half its material would choose other controls without saying so."""
    if not os.path.isdir(wav_dir) or not mir1k_clips(wav_dir, split):
        raise ValueError(f"realset: no MIR-1K clips of the {split} singers in {wav_dir} (training/README.md, step 1)")
    if not band_songs(split):
        raise ValueError(
            f"realset: no Frets on Fire songs of the {split} split under {', '.join(recorded.SONG_GLOBS)} "
            "(install fretsonfire-songs-muldjord and fretsonfire-songs-sectoid)"
        )
    return {**karaoke_items(wav_dir, split), **band_items(wav_dir, split, cache_dir)}
