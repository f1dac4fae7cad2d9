"""Global SDR of an X-UMX checkpoint per source, next to the trivial baseline, on held-out data.

Global SDR of a source over a whole set: 10*log10(sum s^2 / sum (s - s_hat)^2), sums over every sample of every
clip. Separation here is the network's magnitudes with the mixture's phase (no Wiener filter), at 44.1 kHz.

  --synth-test SYNTH_DIR --mir1k WAVDIR   the synthetic test songs (split "test") with held-out MIR-1K singers as
                                          vocals at 0 dB against the accompaniment; baseline: mixture/4
  --vocal-db -12                          ... with those vocals 12 dB under the accompaniment instead (quiet vocals)
  --mir1k-test WAVDIR                     held-out MIR-1K singers: vocals and accompaniment (bass+drums+other),
                                          scored at MIR-1K's 16 kHz; baseline: mixture/2; also the vocals per band
                                          (0.5/1/2/4/8 kHz edges): estimate vs truth energy and the band's SDR
  --pack DIR --split valid                fixed seeded mixtures from a training pack (the GPU run's check)
  --held-out valid                        the same two sets from the validation songs and singer instead: for
                                          choosing between checkpoints without looking at the test set
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys

import numpy as np
import torch
from scipy.signal import stft as scipy_stft

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data.audio import read_wav, resample  # noqa: E402
from data.splits import mir1k_split, synth_split  # noqa: E402
from xumx import checkpoint  # noqa: E402
from xumx.model import SOURCES  # noqa: E402
from xumx.transforms import magnitude_to_audio, stft  # noqa: E402

RATE = 44100
# Vocal bands for the per-band check on MIR-1K (16 kHz, so up to 8 kHz): where a singer's energy is lost or gained.
VOCAL_BANDS_HZ = ((0, 500), (500, 1000), (1000, 2000), (2000, 4000), (4000, 8000))


class SdrTally:
    """Accumulates signal and error energy per source for global SDR, plus per-clip SDRs for a median."""

    def __init__(self):
        self.sig, self.err, self.clips = {}, {}, {}

    def add(self, name: str, ref: np.ndarray, est: np.ndarray) -> None:
        s, e = float(np.sum(ref.astype(np.float64) ** 2)), float(np.sum((ref - est).astype(np.float64) ** 2))
        self.sig[name] = self.sig.get(name, 0.0) + s
        self.err[name] = self.err.get(name, 0.0) + e
        if s > 1e-8:
            self.clips.setdefault(name, []).append(10 * math.log10(s / max(e, 1e-12)))

    def result(self) -> dict:
        return {
            k: {
                "global_sdr": round(10 * math.log10(self.sig[k] / max(self.err[k], 1e-12)), 2),
                "median_clip_sdr": round(float(np.median(self.clips.get(k, [float("nan")]))), 2),
                "clips": len(self.clips.get(k, [])),
            }
            for k in self.sig
        }


def separate(model, mix: np.ndarray, device="cpu") -> np.ndarray:
    """mix [2, n] float32 at 44.1 kHz -> estimates [4, 2, n]."""
    x = torch.from_numpy(mix).float().to(device)[None]
    with torch.no_grad():
        spec = stft(x)
        est = model(spec.abs())
        audio = magnitude_to_audio(est, spec, x.shape[-1])
    return audio[:, 0].cpu().numpy()


def mir1k_clips(wav_dir: str, split: str = "test") -> list[str]:
    return sorted(p for p in glob.glob(os.path.join(wav_dir, "*.wav")) if mir1k_split(os.path.basename(p)) == split)


def synth_set(synth_dir: str, mir1k_dir: str | None, split: str = "test", seconds: float = 20.0, vocal_db: float = 0.0):
    """Yields (name, stems [4, 2, n]) for each held-out synthetic song of `split`; vocals from that split's MIR-1K
    singers, `vocal_db` dB against the sum of the other stems (RMS)."""
    songs = sorted(
        d
        for d in glob.glob(os.path.join(synth_dir, "*"))
        if os.path.exists(os.path.join(d, "song.json")) and synth_split(os.path.basename(d)) == split
    )
    clips = mir1k_clips(mir1k_dir, split) if mir1k_dir else []
    clip_i = 0
    n = int(seconds * RATE)
    for song in songs:
        stems = np.zeros((4, 2, n), np.float32)
        longest = 0
        for k, source in enumerate(SOURCES):
            path = os.path.join(song, f"{source}.wav")
            if source == "vocals" or not os.path.exists(path):
                continue
            _, x = read_wav(path)
            start = max(0, x.shape[1] // 2 - n // 2) if x.shape[1] > 60 * RATE else 0  # middle of long songs
            part = x[:, start : start + n]
            stems[k, :, : part.shape[1]] = part
            longest = max(longest, part.shape[1])
        if longest < 3 * RATE:
            continue
        stems = stems[:, :, :longest]
        if clips:
            vox = []
            while sum(v.size for v in vox) < longest:
                sr, x = read_wav(clips[clip_i % len(clips)])
                clip_i += 1
                vox.append(resample(x[1], sr, RATE))
            v = np.concatenate(vox)[:longest]
            acc_rms = np.sqrt(np.mean(stems.sum(0) ** 2))
            v = v * acc_rms * 10 ** (vocal_db / 20) / max(np.sqrt(np.mean(v**2)), 1e-8)
            stems[SOURCES.index("vocals")] = v[None]
        yield os.path.basename(song), stems


def eval_synth(separate_all, synth_dir, mir1k_dir, split="test", vocal_db=0.0) -> dict:
    """separate_all: {name: mixture [2, n]} -> {name: estimates [4, 2, n]} (the network here, the app's engine in
    evaluate_engine.py)."""
    songs = dict(synth_set(synth_dir, mir1k_dir, split, vocal_db=vocal_db))
    est = separate_all({name: stems.sum(0) for name, stems in songs.items()})
    model_t, base_t = SdrTally(), SdrTally()
    for name, stems in songs.items():
        mix = stems.sum(0)
        for k, source in enumerate(SOURCES):
            model_t.add(source, stems[k], est[name][k])
            base_t.add(source, stems[k], mix / 4)
    return {
        "set": f"synthetic {split} songs + {split} MIR-1K singers as vocals at {vocal_db:g} dB",
        "songs": list(songs),
        "model": model_t.result(),
        "baseline_mixture_over_4": base_t.result(),
    }


class BandTally:
    """Per frequency band, over many clips: the estimate's energy against the reference's (dB; below 0: lost) and
    the band's SDR in the STFT domain, 10*log10(sum |S|^2 / sum |S - S_hat|^2)."""

    def __init__(self, rate: int, bands=VOCAL_BANDS_HZ, n_fft: int = 1024):
        self.rate, self.bands, self.n_fft = rate, bands, n_fft
        self.ref, self.est, self.err = (np.zeros(len(bands)) for _ in range(3))

    def add(self, ref: np.ndarray, est: np.ndarray) -> None:
        f, _, r = scipy_stft(ref.astype(np.float64), self.rate, nperseg=self.n_fft)
        _, _, e = scipy_stft(est.astype(np.float64), self.rate, nperseg=self.n_fft)
        for i, (lo, hi) in enumerate(self.bands):
            m = (f >= lo) & (f < hi)
            self.ref[i] += np.sum(np.abs(r[m]) ** 2)
            self.est[i] += np.sum(np.abs(e[m]) ** 2)
            self.err[i] += np.sum(np.abs(r[m] - e[m]) ** 2)

    def result(self) -> list[dict]:
        db = lambda a, b: round(10 * math.log10(max(a, 1e-20) / max(b, 1e-20)), 2)  # noqa: E731
        return [
            {"band_hz": [lo, hi], "energy_db": db(self.est[i], self.ref[i]), "sdr": db(self.ref[i], self.err[i])}
            for i, (lo, hi) in enumerate(self.bands)
        ]


def eval_mir1k(separate_all, wav_dir, split="test") -> dict:
    clips = {}
    for path in mir1k_clips(wav_dir, split):
        sr, x = read_wav(path)
        clips[os.path.basename(path)[:-4]] = (sr, x[0], x[1])  # left accompaniment, right vocals
    est = separate_all(
        {name: np.repeat(resample(acc + voc, sr, RATE)[None], 2, 0) for name, (sr, acc, voc) in clips.items()}
    )
    model_t, base_t = SdrTally(), SdrTally()
    bands = BandTally(next(iter(clips.values()))[0]) if clips else None
    vocals = SOURCES.index("vocals")
    for name, (sr, acc, voc) in clips.items():
        est_voc = resample(est[name][vocals].mean(0), RATE, sr)[: voc.size]
        est_acc = resample(np.delete(est[name], vocals, 0).sum(0).mean(0), RATE, sr)[: acc.size]
        model_t.add("vocals", voc, est_voc)
        model_t.add("accompaniment", acc, est_acc)
        bands.add(voc, est_voc)
        base_t.add("vocals", voc, (acc + voc) / 2)
        base_t.add("accompaniment", acc, (acc + voc) / 2)
    return {
        "set": f"MIR-1K {split} singers",
        "clips": len(clips),
        "model": model_t.result(),
        "baseline_mixture_over_2": base_t.result(),
        "model_vocal_bands": bands.result() if bands else [],
    }


def eval_pack(model, pack_dir, split, batches, device) -> dict:
    from xumx.packdata import MixSampler, Pack

    sampler = MixSampler(Pack(pack_dir, split, device))
    model_t, base_t = SdrTally(), SdrTally()
    for i in range(batches):
        mix, stems, _ = sampler.batch(8, torch.Generator().manual_seed(20_000 + i))
        for b in range(mix.shape[0]):
            m = mix[b].cpu().numpy()
            est = separate(model, m, device)
            for k, source in enumerate(SOURCES):
                model_t.add(source, stems[k, b].cpu().numpy(), est[k])
                base_t.add(source, stems[k, b].cpu().numpy(), m / 4)
    return {"set": f"pack {split} mixtures", "model": model_t.result(), "baseline_mixture_over_4": base_t.result()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--synth-test")
    ap.add_argument("--mir1k")
    ap.add_argument("--mir1k-test", action="store_true")
    ap.add_argument("--pack")
    ap.add_argument("--split", default="valid", help="the pack's split, with --pack")
    ap.add_argument(
        "--held-out",
        choices=("test", "valid"),
        default="test",
        help="which held-out songs and singers --synth-test and --mir1k-test read: choose checkpoints "
        "on valid, report test",
    )
    ap.add_argument(
        "--vocal-db",
        type=float,
        default=0.0,
        help="the synthetic set's vocals this many dB against the rest (0: as reported; -12: quiet vocals)",
    )
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    model = checkpoint.model_from(checkpoint.load(args.checkpoint)).to(args.device)
    report = {
        "checkpoint": os.path.basename(args.checkpoint),
        "hidden": model.hidden,
        "method": "network magnitudes with mixture phase, no Wiener filter",
    }
    if args.pack:
        report["pack"] = eval_pack(model, args.pack, args.split, args.batches, args.device)
    if args.synth_test or args.mir1k_test:
        model.cpu()

        def separate_all(mixes):
            return {name: separate(model, mix) for name, mix in mixes.items()}

        if args.synth_test:
            report["synthetic"] = eval_synth(separate_all, args.synth_test, args.mir1k, args.held_out, args.vocal_db)
        if args.mir1k_test and args.mir1k:
            report["mir1k"] = eval_mir1k(separate_all, args.mir1k, args.held_out)
    return write_report(report, args.out)


def write_report(report: dict, out: str | None) -> int:
    text = json.dumps(report, indent=1)
    print(text)
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
