"""Global SDR of an exported model as the app separates: through `xumx-studio separate` (the engine's chunking,
Wiener post-filter and ISTFT, CPU execution provider), on the same held-out sets as evaluate.py.

evaluate.py scores the network alone (its magnitudes with the mixture's phase); this scores what a user gets.

  /usr/bin/python3 training/evaluate_engine.py --models-dir models --model xumx-studio-small \\
      --synth-test training/data/build/synth --mir1k training/data/build/mir1k/dataset/mir-1k/Wavfile --mir1k-test

The held-out mixtures are written as 32-bit float WAV to a temporary folder, separated in one CLI call each set
(stems as 32-bit float WAV), read back and scored; the temporary folder is removed (the estimate cache of
--cache-dir stays). Controls: the model's recommended ones unless --neutral; --strength, --bleed and
--wiener-iterations override them.
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


def cli_command(src: str, out: str, args) -> list[str]:
    """`xumx-studio separate` of every WAV in src into out/<name>/<source>.wav, as `args` asks."""
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
        "--json",
    ]
    if getattr(args, "neutral", False):  # neutral controls, not the model's recommended ones
        cmd.append("--neutral")
    if getattr(args, "wiener_iterations", None) is not None:
        cmd += ["--wiener-iterations", str(args.wiener_iterations)]
    for flag in ("strength", "bleed"):  # the per-instrument controls, as the CLI takes them
        if getattr(args, flag, None):
            cmd += [f"--{flag}", getattr(args, flag)]
    if getattr(args, "cache_dir", None):  # the network's estimates kept there: a second run skips the network
        cmd += ["--cache-dir", cache_folder(args)]
    if args.models_dir:  # absolute: the CLI runs in the repository's root, not where this was started
        cmd += ["--models-dir", os.path.abspath(args.models_dir)]
    if args.model:
        cmd += ["--model", args.model]
    return cmd


def cache_folder(args) -> str:
    """Where --cache-dir keeps estimates, absolute: a folder per chunk plan, because a song found in the cache is
    re-rendered with the plan it was first separated with, whatever --segments asks now."""
    plan = getattr(args, "segments", None)
    return os.path.abspath(os.path.join(args.cache_dir, f"segments-{plan.replace(',', '-')}" if plan else "default"))


def run_cli(src: str, out: str, args) -> None:
    env = dict(os.environ)
    if getattr(args, "segments", None):  # the engine's chunk plan (frames per chunk, overlap, batch)
        env["XUMX_STUDIO_SEGMENTS"] = args.segments
    done = subprocess.run(cli_command(src, out, args), cwd=ROOT, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"evaluate_engine: xumx-studio separate failed ({done.returncode}): {done.stderr[-2000:]}")


def write_mixes(mixes: dict[str, np.ndarray], src: str) -> None:
    """name -> [2, n] at 44.1 kHz, as src/<name>.wav (32-bit float)."""
    os.makedirs(src, exist_ok=True)
    for name, mix in mixes.items():
        wavfile.write(os.path.join(src, f"{name}.wav"), RATE, mix.T.astype(np.float32))


def read_estimates(out: str, mixes: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """-> name -> estimates [4, 2, n] in SOURCES order, cut to the mixture's length."""
    est = {}
    for name, mix in mixes.items():
        stems = []
        for source in SOURCES:
            _, x = read_wav(os.path.join(out, name, f"{source}.wav"))
            stems.append(x[:, : mix.shape[1]])
        est[name] = np.stack(stems)
    return est


def separate_all(mixes: dict[str, np.ndarray], args, work: str) -> dict[str, np.ndarray]:
    """mixes name -> [2, n] at 44.1 kHz; -> name -> estimates [4, 2, n] in SOURCES order, from one CLI call."""
    src, out = os.path.join(work, "in"), os.path.join(work, "out")
    write_mixes(mixes, src)
    run_cli(src, out, args)
    return read_estimates(out, mixes)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models-dir", help="folder with the exported model (default: the app's own models)")
    ap.add_argument("--model", help="model id (default: the app's default model)")
    ap.add_argument("--synth-test")
    ap.add_argument("--mir1k")
    ap.add_argument("--mir1k-test", action="store_true")
    ap.add_argument("--held-out", choices=("test", "valid"), default="test")
    ap.add_argument("--vocal-db", type=float, default=0.0, help="the synthetic set's vocals against the rest, dB")
    ap.add_argument(
        "--wiener-iterations", type=int, help="Wiener iterations (default: the model's, or 1 with --neutral)"
    )
    ap.add_argument(
        "--neutral",
        action="store_true",
        help="neutral controls (strength 1, bleed 0, 1 Wiener iteration) instead of the model's recommended ones",
    )
    ap.add_argument(
        "--segments",
        metavar="F,O,B",
        help="chunks of F STFT frames overlapping by O, B per network run (default: the CPU provider's "
        "256,16,2); e.g. 64,8,32 scores the WebGPU provider's chunking on the CPU",
    )
    ap.add_argument("--strength", metavar="SRC=S,...", help="separation strength per source, as `xumx-studio separate`")
    ap.add_argument("--bleed", metavar="SRC=T,...", help="bleed threshold per source, as `xumx-studio separate`")
    ap.add_argument(
        "--cache-dir",
        help="keep the network's estimates here: a run with other controls on the same set skips the network",
    )
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    if args.segments and not re.fullmatch(r"\d+,\d+,\d+", args.segments):
        ap.error(f"--segments wants three whole numbers F,O,B, got {args.segments!r}")
    report = {
        "model": args.model or "default",
        "method": "xumx-studio separate, CPU EP, 32-bit float stems, "
        + ("neutral controls" if args.neutral else "the model's recommended controls")
        + (f", {args.wiener_iterations} Wiener iteration(s)" if args.wiener_iterations is not None else "")
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
