"""Global SDR of an exported model as the app separates: through `xumx-studio separate` (the engine's chunking,
Wiener post-filter and ISTFT, CPU execution provider), on the same held-out sets as evaluate.py.

evaluate.py scores the network alone (its magnitudes with the mixture's phase); this scores what a user gets.

  /usr/bin/python3 training/evaluate_engine.py --models-dir models --model xumx-studio-small \\
      --synth-test training/data/build/synth --mir1k training/data/build/mir1k/dataset/mir-1k/Wavfile --mir1k-test

The held-out mixtures are written as 32-bit float WAV to a temporary folder, separated in one CLI call each set
(stems as 32-bit float WAV), read back and scored; the temporary folder is removed.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
from scipy.io import wavfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import RATE, eval_mir1k, eval_synth, read_wav, write_report  # noqa: E402
from xumx.model import SOURCES  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def separate_all(mixes: dict[str, np.ndarray], args, work: str) -> dict[str, np.ndarray]:
    """mixes name -> [2, n] at 44.1 kHz; -> name -> estimates [4, 2, n] in SOURCES order, from one CLI call."""
    src, out = os.path.join(work, "in"), os.path.join(work, "out")
    os.makedirs(src)
    for name, mix in mixes.items():
        wavfile.write(os.path.join(src, f"{name}.wav"), RATE, mix.T.astype(np.float32))
    cmd = [
        "node",
        os.path.join(ROOT, "bin", "xumx-studio.mjs"),
        "separate",
        src,
        "--out",
        out,
        "--ep",
        "cpu",
        "--bit-depth",
        "32f",
        "--wiener-iterations",
        str(args.wiener_iterations),
        "--json",
    ]
    for flag in ("strength", "bleed"):  # the per-instrument controls, as the CLI takes them
        if getattr(args, flag, None):
            cmd += [f"--{flag}", getattr(args, flag)]
    if args.models_dir:
        cmd += ["--models-dir", args.models_dir]
    if args.model:
        cmd += ["--model", args.model]
    env = dict(os.environ)
    if args.segments:  # the engine's chunk plan (frames per chunk, overlap, batch) instead of the CPU provider's own
        env["XUMX_STUDIO_SEGMENTS"] = args.segments
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"evaluate_engine: xumx-studio separate failed ({done.returncode}): {done.stderr[-2000:]}")
    est = {}
    for name, mix in mixes.items():
        stems = []
        for source in SOURCES:
            _, x = read_wav(os.path.join(out, name, f"{source}.wav"))
            stems.append(x[:, : mix.shape[1]])
        est[name] = np.stack(stems)
    return est


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models-dir", help="folder with the exported model (default: the app's own models)")
    ap.add_argument("--model", help="model id (default: the app's default model)")
    ap.add_argument("--synth-test")
    ap.add_argument("--mir1k")
    ap.add_argument("--mir1k-test", action="store_true")
    ap.add_argument("--held-out", choices=("test", "valid"), default="test")
    ap.add_argument("--vocal-db", type=float, default=0.0, help="the synthetic set's vocals against the rest, dB")
    ap.add_argument("--wiener-iterations", type=int, default=1)
    ap.add_argument(
        "--segments",
        metavar="F,O,B",
        help="chunks of F STFT frames overlapping by O, B per network run (default: the CPU provider's "
        "256,16,2); e.g. 64,8,32 scores the WebGPU provider's chunking on the CPU",
    )
    ap.add_argument("--strength", metavar="SRC=S,...", help="separation strength per source, as `xumx-studio separate`")
    ap.add_argument("--bleed", metavar="SRC=T,...", help="bleed threshold per source, as `xumx-studio separate`")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    if args.segments and not re.fullmatch(r"\d+,\d+,\d+", args.segments):
        ap.error(f"--segments wants three whole numbers F,O,B, got {args.segments!r}")
    report = {
        "model": args.model or "default",
        "method": f"xumx-studio separate, CPU EP, "
        f"{args.wiener_iterations} Wiener iteration(s), 32-bit float stems"
        + (f", segments {args.segments}" if args.segments else "")
        + (f", strength {args.strength}" if args.strength else "")
        + (f", bleed {args.bleed}" if args.bleed else ""),
    }
    with tempfile.TemporaryDirectory(prefix="xumx-engine-eval-") as work:

        def engine(name):
            return lambda mixes: separate_all(mixes, args, os.path.join(work, name))

        if args.synth_test:
            report["synthetic"] = eval_synth(engine("synth"), args.synth_test, args.mir1k, args.held_out, args.vocal_db)
        if args.mir1k_test and args.mir1k:
            report["mir1k"] = eval_mir1k(engine("mir1k"), args.mir1k, args.held_out)
    return write_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
