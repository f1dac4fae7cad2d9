"""The training pack (training/data/pack.py) loaded into 44.1 kHz tensors, and a sampler of augmented mixtures.

Needs only numpy, scipy and torch, so it runs on the GPU machine. Stems are mono in the pack; the sampler pans each
one to stereo, so what the network sees is a stereo mix of known stems.
"""
from __future__ import annotations

import glob
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


def _at_vocal_level(x: np.ndarray) -> np.ndarray:
    """x scaled to VOCAL_TARGET_RMS (MIR-1K clips, vocals and karaoke tracks alike)."""
    return x * (VOCAL_TARGET_RMS / max(float(np.sqrt(np.mean(x**2))), 1e-6))


def extend_vocal_band(x: np.ndarray, cutoff_hz: float = 7000.0, level: float = 0.12) -> np.ndarray:
    """MIR-1K singing stops at 8 kHz; real vocals do not. Add a soft exciter band (harmonics of x*|x| above the
    cutoff, at `level` times the clip's RMS) so the network does not learn that vocals never reach upper bins."""
    n = x.size
    size = next_fast_len(n, real=True)
    spec = rfft(x * np.abs(x), size)
    spec[: int(cutoff_hz * size / RATE)] = 0
    high = irfft(spec, size)[:n]
    gain = level * np.sqrt(np.mean(x**2)) / max(float(np.sqrt(np.mean(high**2))), 1e-8)
    return (x + gain * high).astype(np.float32)


class Pack:
    """Decoded streams at 44.1 kHz plus the song/clip tables, split by `split`.

    From a training pack (lossy, compact: for the GPU machine) or, with Pack.from_renders, straight from the rendered
    WAVs and MIR-1K (lossless: no codec fingerprint on any stem)."""

    @classmethod
    def from_renders(
        cls,
        synth_dir: str,
        mir1k_dir: str | None,
        split: str,
        device="cpu",
        seconds_per_song: float = 8.0,
        seed: int = 0,
    ) -> "Pack":
        from data.pack import excerpts_of, load_mono, read_wav
        from data.splits import mir1k_split, synth_split

        rng = np.random.default_rng(seed)
        self = cls.__new__(cls)
        self.songs, self.clips, self.leads, self.instr_leads = [], [], [], []
        streams = {k: [] for k in ("bass", "drums", "other", "vocals")}
        karaoke, leads, instr_leads = [], [], []
        for song in sorted(glob.glob(os.path.join(synth_dir, "*", "song.json"))):
            d = os.path.dirname(song)
            if synth_split(os.path.basename(d)) != split:
                continue
            stems = {k: load_mono(os.path.join(d, f"{k}.wav"), RATE) for k in ("bass", "drums", "other")}
            n_all = max((x.size for x in stems.values() if x is not None), default=0)
            if n_all < 3 * RATE:
                continue
            for k in range(excerpts_of(os.path.basename(d))):
                n = min(n_all, int(seconds_per_song * RATE))
                start = int(rng.integers(0, n_all - n + 1))
                for stem, x in stems.items():
                    seg = np.zeros(n, np.float32)
                    if x is not None:
                        part = x[start : start + n]
                        seg[: part.size] = part
                    streams[stem].append(seg)
                self.songs.append({"name": f"{os.path.basename(d)}#{k}", "dur": n / RATE})
            # the song's voice and instrument leads (training songs only, render_synth.py): one excerpt of each
            for kind, audio, entries in (
                ("voicelead", leads, self.leads),
                ("instrlead", instr_leads, self.instr_leads),
            ):
                lead = load_mono(os.path.join(d, f"{kind}.wav"), RATE)
                if lead is not None and lead.size >= 3 * RATE:
                    n = min(lead.size, int(seconds_per_song * RATE))
                    start = int(rng.integers(0, lead.size - n + 1))
                    audio.append(_at_vocal_level(lead[start : start + n]).astype(np.float32))
                    entries.append({"name": os.path.basename(d), "dur": n / RATE})
        if mir1k_dir:
            for path in sorted(glob.glob(os.path.join(mir1k_dir, "*.wav"))):
                if mir1k_split(os.path.basename(path)) != split:
                    continue
                sr, x = read_wav(path)
                v = _to_44k(x[:, 1], sr)
                if rng.random() < 0.5:
                    v = extend_vocal_band(v, level=float(rng.uniform(0.05, 0.2)))
                v = _at_vocal_level(v)
                streams["vocals"].append(v.astype(np.float32))
                # the clip's own karaoke accompaniment (left channel): real recorded music whose bass, drums and
                # other are not known one by one, only as a sum (see MixSampler's p_karaoke)
                a = _to_44k(x[:, 0], sr)[: v.size]
                a = np.pad(_at_vocal_level(a), (0, v.size - a.size))
                karaoke.append(a.astype(np.float32))
                self.clips.append({"name": os.path.basename(path), "dur": v.size / RATE})
        if karaoke:
            streams["karaoke"] = karaoke
        if leads:
            streams["voicelead"] = leads
        if instr_leads:
            streams["instrlead"] = instr_leads
        self.streams = {
            k: (torch.from_numpy(np.concatenate(v)) if v else torch.zeros(0)).to(device) for k, v in streams.items()
        }
        self.song_bounds = cls._bounds(self.songs)
        self.clip_bounds = cls._bounds(self.clips)
        self.lead_bounds = cls._bounds(self.leads)
        self.instr_lead_bounds = cls._bounds(self.instr_leads)
        self.device = device
        return self

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
        if "karaoke" in index["files"]:  # packs since the karaoke tracks came in
            self.streams["karaoke"] = self._decode_entries(
                folder, index, "karaoke", self.clips, normalise=True, exciter=False
            )
        self.clip_bounds = self._bounds(self.clips)
        self.leads = [e for e in index.get("voicelead", []) if e["split"] == split]
        if self.leads:  # packs since the voice leads came in
            self.streams["voicelead"] = self._decode_entries(
                folder, index, "voicelead", self.leads, normalise=True, exciter=False
            )
        self.lead_bounds = self._bounds(self.leads)
        self.instr_leads = []  # packs carry no instrument leads yet: train from the renders for those
        self.instr_lead_bounds = self._bounds(self.instr_leads)
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
    def _decode_entries(folder, index, stem, entries, normalise=False, exciter=True) -> torch.Tensor:
        with open(os.path.join(folder, index["files"][stem]), "rb") as f:
            codes = np.frombuffer(lzma.decompress(f.read()), np.uint8)
        rate = index["rates"][stem]
        rng = np.random.default_rng(0)
        out = []
        for e in entries:
            offset = e["offset"][stem] if isinstance(e["offset"], dict) else e["offset"]
            scale = e["scale"][stem] if isinstance(e["scale"], dict) else e["scale"]
            n_src = int(round(e["dur"] * rate))
            x = mulaw.decode(codes[offset : offset + n_src]) * scale
            x = _to_44k(x, rate)
            n = int(e["dur"] * RATE)
            x = np.pad(x, (0, max(0, n - x.size)))[:n]
            if exciter and normalise and scale > 0 and rng.random() < 0.5:  # half the clips: the band is no give-away
                x = extend_vocal_band(x, level=float(rng.uniform(0.05, 0.2)))
            if normalise and scale > 0:
                x = _at_vocal_level(x)
            out.append(x.astype(np.float32))
        return torch.from_numpy(np.concatenate(out)) if out else torch.zeros(0)


class MixSampler:
    """Draws batches of stereo mixtures and their four stems from a Pack, with X-UMX-style augmentation:
    random gain per stem, random pan (which also swaps channels), stems from different songs, random silence of a
    source, and a joint pitch/tempo change by resampling (cheap: one linear interpolation per stem)."""

    def __init__(
        self,
        pack: Pack,
        seconds: float = 6.0,
        p_same_song: float = 0.4,
        p_silence: float = 0.1,
        p_no_vocals: float = 0.2,
        gain_db: tuple[float, float] = (-9.0, 3.0),
        speed: float = 0.08,
        p_lowpass: float = 0.0,
        p_karaoke: float = 0.0,
        p_voicelead: float = 0.0,
        vocal_level_db: tuple[float, float] | None = None,
        p_instrlead: float = 0.0,
        instrlead_db: tuple[float, float] = (-3.0, 6.0),
    ):
        self.pack = pack
        # vocals against the rest of the mixture (bass+drums+other after their gains), drawn uniformly in dB per
        # mixture; None: the vocals get a random gain like every stem (with rendered accompaniments about 6 dB
        # louder than the vocal clips, that centres the vocals near -6 dB)
        self.vocal_level_db = vocal_level_db
        # share of mixtures (karaoke ones excepted) whose vocals are a synthetic voice lead instead of a MIR-1K
        # clip: full-band voice timbres, as augmentation next to the 8 kHz real singing
        self.p_voicelead = p_voicelead if "voicelead" in pack.streams else 0.0
        # share of mixtures (karaoke ones excepted) with an instrument lead (clarinet, sax, lead guitar, ...: a
        # singer-like line that is not a voice) added to "other", instrlead_db against a vocal clip's level
        self.p_instrlead = p_instrlead if "instrlead" in pack.streams else 0.0
        self.instrlead_db = instrlead_db
        # share of mixtures whose accompaniment is the vocal clip's own recorded karaoke track (Pack.from_renders
        # with MIR-1K): only vocals and bass+drums+other are known there, so the loss uses just those two sets
        self.p_karaoke = p_karaoke if "karaoke" in pack.streams else 0.0
        self.n = int(seconds * RATE)
        self.p_same_song, self.p_silence, self.p_no_vocals = p_same_song, p_silence, p_no_vocals
        self.gain_db, self.speed = gain_db, speed
        # band-limited recordings (MIR-1K stops at 8 kHz): low-pass every stem alike now and then, so the top of
        # the spectrum is never the cue that tells one source from another
        self.p_lowpass = p_lowpass

    def _gather(self, stream, bounds, idx, rate, g, offset=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Crops [B, n] from entries idx at random offsets (or the given ones), read at `rate` times normal speed.
        -> (crops, offsets)."""
        dev = stream.device
        start, length = bounds[idx, 0].to(dev), bounds[idx, 1].to(dev)
        span = (self.n * rate).ceil().long()
        room = (length - span).clamp_min(0).float()
        if offset is None:
            offset = (torch.rand(len(idx), generator=g, device="cpu").to(dev) * room).floor()
        pos = offset[:, None] + rate[:, None] * torch.arange(self.n, device=dev, dtype=torch.float32)[None]
        inside = pos < (length[:, None] - 1).float()
        pos = torch.minimum(pos, (length[:, None] - 2).clamp_min(0).float())
        i0 = pos.floor().long()
        frac = pos - i0.float()
        base = start[:, None] + i0
        x = stream[base] * (1 - frac) + stream[base + 1] * frac
        return x * inside, offset

    def batch(self, size: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> mixture [B, 2, n], stems [4, B, 2, n] in SOURCES order, known [4, B] (bool: which stems are known
        one by one; a karaoke mixture knows only its vocals and carries its whole accompaniment in "other")."""
        dev = self.pack.device
        n_songs = len(self.pack.songs)

        def rnd(*shape):
            return torch.rand(*shape, generator=g).to(dev)

        same = rnd(size) < self.p_same_song
        shared = torch.randint(n_songs, (size,), generator=g)
        shared_rate = 1 + (torch.rand(size, generator=g) * 2 - 1) * self.speed
        stems, vocal_crop = [], None
        for source in SOURCES:
            if source == "vocals":
                if len(self.pack.clips) == 0:
                    stems.append(torch.zeros(size, self.n, device=dev))
                    continue
                idx = torch.randint(len(self.pack.clips), (size,), generator=g)
                rate = (1 + (torch.rand(size, generator=g) * 2 - 1) * self.speed).to(dev)
                x, offset = self._gather(self.pack.streams["vocals"], self.pack.clip_bounds, idx, rate, g)
                x = x * (rnd(size, 1) >= self.p_no_vocals)
                vocal_crop = (idx, rate, offset)
            else:
                own = torch.randint(n_songs, (size,), generator=g)
                idx = torch.where(same.cpu(), shared, own)
                rate = torch.where(same.cpu(), shared_rate, 1 + (torch.rand(size, generator=g) * 2 - 1) * self.speed)
                x, _ = self._gather(self.pack.streams[source], self.pack.song_bounds, idx, rate.to(dev), g)
            stems.append(x)
        known = torch.ones(len(SOURCES), size, dtype=torch.bool, device=dev)
        karaoke = torch.zeros(size, dtype=torch.bool, device=dev)
        if self.p_karaoke > 0 and vocal_crop is not None:
            # the same stretch of the same clip as the vocals, so singer and music stay together
            karaoke = rnd(size) < self.p_karaoke
            acc, _ = self._gather(
                self.pack.streams["karaoke"], self.pack.clip_bounds, *vocal_crop[:2], g, vocal_crop[2]
            )
            for i, source in enumerate(SOURCES):
                if source != "vocals":
                    fill = acc if source == "other" else torch.zeros_like(acc)
                    stems[i] = torch.where(karaoke[:, None], fill, stems[i])
                    known[i] &= ~karaoke
        if self.p_voicelead > 0:
            lead = (rnd(size) < self.p_voicelead) & ~karaoke
            x = self._lead_crops("voicelead", self.pack.lead_bounds, size, g)
            x = x * (rnd(size, 1) >= self.p_no_vocals)
            v = SOURCES.index("vocals")
            stems[v] = torch.where(lead[:, None], x, stems[v])
        if self.p_instrlead > 0:
            with_lead = (rnd(size) < self.p_instrlead) & ~karaoke
            x = self._lead_crops("instrlead", self.pack.instr_lead_bounds, size, g)
            lo, hi = self.instrlead_db
            level = 10 ** ((lo + (hi - lo) * rnd(size, 1)) / 20)
            o = SOURCES.index("other")
            stems[o] = stems[o] + x * level * with_lead[:, None]
        mono = torch.stack(stems)  # [4, B, n]
        lo, hi = self.gain_db
        gain = 10 ** ((lo + (hi - lo) * rnd(4, size, 1)) / 20)
        gain = gain * (rnd(4, size, 1) >= self.p_silence)
        # pan: bass and vocals near the centre, drums and other anywhere
        spread = torch.tensor([0.15, 0.6, 0.2, 0.9], device=dev)[:, None]
        angle = math.pi / 4 + (rnd(4, size) * 2 - 1) * spread * math.pi / 4
        pan = torch.stack([torch.cos(angle), torch.sin(angle)], dim=2) * math.sqrt(2)  # [4, B, 2]
        if self.vocal_level_db is not None:
            gain = self._vocals_against_the_rest(mono, gain, rnd(size))
        stereo = mono[:, :, None, :] * gain[:, :, None, :] * pan[..., None]
        if self.p_lowpass > 0:
            stereo = self._lowpass(stereo, rnd(size) < self.p_lowpass, 7000 + 9000 * rnd(size))
        if bool(karaoke.any()):  # MIR-1K stops at 8 kHz: so must the karaoke mixture's vocals (no exciter band)
            stereo = self._lowpass(stereo, karaoke, 7500 + 500 * rnd(size))
        return stereo.sum(0), stereo, known

    def _lead_crops(self, stream: str, bounds: torch.Tensor, size: int, g: torch.Generator) -> torch.Tensor:
        """[B, n] crops of random entries of a lead stream ("voicelead" or "instrlead"), each at its own speed."""
        idx = torch.randint(len(bounds), (size,), generator=g)
        rate = (1 + (torch.rand(size, generator=g) * 2 - 1) * self.speed).to(self.pack.device)
        return self._gather(self.pack.streams[stream], bounds, idx, rate, g)[0]

    def _vocals_against_the_rest(self, mono: torch.Tensor, gain: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """gain [4, B, 1] with the vocals' gain replaced so that their RMS lies vocal_level_db (at u in [0, 1) of
        the range) from the RMS of the other three stems summed; silent vocals or accompaniment keep their gain."""
        v = SOURCES.index("vocals")
        rest = [i for i in range(len(SOURCES)) if i != v]
        acc_rms = (mono[rest] * gain[rest]).sum(0).pow(2).mean(-1).sqrt()  # [B]
        voc_rms = mono[v].pow(2).mean(-1).sqrt()  # before its gain
        lo, hi = self.vocal_level_db
        wanted = acc_rms * 10 ** ((lo + (hi - lo) * u) / 20)
        audible = (gain[v, :, 0] > 0) & (acc_rms > 1e-6) & (voc_rms > 1e-6)
        gain = gain.clone()
        gain[v, :, 0] = torch.where(audible, wanted / voc_rms.clamp_min(1e-6), gain[v, :, 0])
        return gain

    def _lowpass(self, stereo: torch.Tensor, which: torch.Tensor, cutoff_hz: torch.Tensor) -> torch.Tensor:
        """Brick-wall low-pass (in the FFT domain) of the batch items in `which`, all four stems alike."""
        if not bool(which.any()):
            return stereo
        spec = torch.fft.rfft(stereo, dim=-1)
        freqs = torch.fft.rfftfreq(stereo.shape[-1], 1.0 / RATE).to(stereo.device)
        keep = (freqs[None, :] <= cutoff_hz[:, None]) | ~which[:, None]  # [B, F]
        return torch.fft.irfft(spec * keep[None, :, None, :], n=stereo.shape[-1], dim=-1)
