"""Chooses a model's recommended separation controls on real recordings, through the app's own engine.

The set is data/realset.py's (MIR-1K singers over their own karaoke tracks; MIR-1K singing over Frets on Fire
bands). Every candidate is rendered by `xumx-studio separate --neutral` plus its own flags, so what is scored is
what a user gets with those controls; the network's estimates are kept in a cache folder, so only the first run of
a split pays for the network and each further candidate costs the controls, the Wiener filter and the ISTFT.

  /usr/bin/python3 training/calibrate_controls.py --mir1k training/data/build/mir1k/dataset/mir-1k/Wavfile \\
      --work training/data/build/calibration --split valid --search --out valid.json
  /usr/bin/python3 training/calibrate_controls.py ... --split test --controls '{}' \\
      --controls '{"strength": {"vocals": 0.8}}' --out test.json

Objective: the mean of four global SDRs, vocals and accompaniment on each kind of item. Drums and bass have no
recorded reference in the set, so the search leaves their controls alone. With --guard-synth, a control set that
wins there is taken only if the split's synthetic songs (evaluate.py's set, at each --guard-levels vocal level) keep
their mean SDR over the four sources within --guard-tolerance dB of the neutral controls': what helps the real set
must not cost a quiet singer or the drums and bass elsewhere. Per candidate the report also gives how
loud the vocal estimate is against the true singing (its projection on it; 1 = all of it) and how much of the
singing and of the lead guitar lands in "other".
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate_engine  # noqa: E402
from data.audio import resample  # noqa: E402
from data.realset import BandItem, KaraokeItem, real_set  # noqa: E402
from evaluate import SdrTally, eval_synth  # noqa: E402
from xumx.model import SOURCES  # noqa: E402

RATE = 44100
VOC, OTHER = SOURCES.index("vocals"), SOURCES.index("other")
# The coordinate search's values per control (source, kind); neutral first.
GRID = {
    ("vocals", "strength"): (1.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.2),
    ("other", "strength"): (1.0, 0.8, 1.1, 1.25, 1.5, 2.0, 2.5),
    ("other", "bleed"): (0.0, 0.05, 0.1, 0.2, 0.3),
    ("vocals", "bleed"): (0.0, 0.05, 0.1),
    ("wiener", "iterations"): (1, 0, 2, 3),
}
NEUTRAL = {("vocals", "strength"): 1.0, ("other", "strength"): 1.0, ("other", "bleed"): 0.0,
           ("vocals", "bleed"): 0.0, ("wiener", "iterations"): 1}  # fmt: skip


class Projection:
    """Σ<est, ref> / Σ<ref, ref> over a set: the share of a reference's amplitude an estimate carries."""

    def __init__(self):
        self.num, self.den = 0.0, 0.0

    def add(self, ref: np.ndarray, est: np.ndarray) -> None:
        r, e = ref.astype(np.float64).ravel(), est.astype(np.float64).ravel()
        self.num += float(r @ e)
        self.den += float(r @ r)

    def result(self) -> float:
        return round(self.num / self.den, 3) if self.den > 0 else float("nan")


def score(items: dict, est: dict[str, np.ndarray]) -> dict:
    """items (realset) and their estimates [4, 2, n] -> per kind: SDRs and projections."""
    out = {}
    for kind, cls in (("karaoke", KaraokeItem), ("band", BandItem)):
        names = [n for n, it in items.items() if isinstance(it, cls)]
        if not names:
            continue
        sdr = SdrTally()
        proj = {k: Projection() for k in ("vocals_kept", "vocals_in_other", "guitar_in_other", "guitar_in_vocals")}
        for name in names:
            it, e = items[name], est[name]
            if isinstance(it, KaraokeItem):  # scored at the clip's 16 kHz, mono, like evaluate.eval_mir1k
                voc, acc = it.vocals, it.accompaniment
                e_voc = resample(e[VOC].mean(0), RATE, it.rate)[: voc.size]
                e_acc = resample(np.delete(e, VOC, 0).sum(0).mean(0), RATE, it.rate)[: acc.size]
                e_other = resample(e[OTHER].mean(0), RATE, it.rate)[: voc.size]
            else:
                voc, acc = it.vocals, it.band
                e_voc, e_acc, e_other = e[VOC], np.delete(e, VOC, 0).sum(0), e[OTHER]
                proj["guitar_in_other"].add(it.guitar, e_other)
                proj["guitar_in_vocals"].add(it.guitar, e_voc)
            sdr.add("vocals", voc, e_voc)
            sdr.add("accompaniment", acc, e_acc)
            proj["vocals_kept"].add(voc, e_voc)
            proj["vocals_in_other"].add(voc, e_other)
        out[kind] = {
            "items": len(names),
            "sdr": sdr.result(),
            **{k: p.result() for k, p in proj.items() if p.den > 0},
        }
    return out


def objective(scores: dict) -> float:
    """The mean of the global SDRs of vocals and accompaniment over both kinds of item."""
    vals = [scores[k]["sdr"][s]["global_sdr"] for k in scores for s in ("vocals", "accompaniment")]
    return round(float(np.mean(vals)), 3)


def to_controls(point: dict) -> dict:
    """A search point -> the manifest's default_controls form (neutral entries left out)."""
    c: dict = {}
    for (source, kind), v in point.items():
        if kind == "iterations":
            if v != 1:
                c["wiener_iterations"] = int(v)
        elif v != (1.0 if kind == "strength" else 0.0):
            c.setdefault(kind, {})[source] = v
    return c


def from_controls(c: dict) -> dict:
    point = dict(NEUTRAL)
    for kind in ("strength", "bleed"):
        for source, v in c.get(kind, {}).items():
            point[(source, kind)] = float(v)
    if "wiener_iterations" in c:
        point[("wiener", "iterations")] = int(c["wiener_iterations"])
    return point


def cli_args(controls: dict, ns, cache: str | None = None) -> SimpleNamespace:
    flags = {k: ",".join(f"{s}={v:g}" for s, v in controls.get(k, {}).items()) or None for k in ("strength", "bleed")}
    return SimpleNamespace(
        models_dir=ns.models_dir,
        model=ns.model,
        neutral=True,
        wiener_iterations=controls.get("wiener_iterations", 1),
        cache_dir=os.path.join(ns.work, cache or f"estimates-{ns.split}"),
        **flags,
    )


class Evaluator:
    """Renders and scores control sets on one split, each once."""

    def __init__(self, ns):
        self.ns = ns
        self.items = real_set(ns.mir1k, ns.split, os.path.join(ns.work, "decoded"))
        self.mixes = {name: it.mix() for name, it in self.items.items()}
        self.src = os.path.join(ns.work, f"mixes-{ns.split}")
        shutil.rmtree(self.src, ignore_errors=True)
        evaluate_engine.write_mixes(self.mixes, self.src)
        self.seen: dict[str, dict] = {}

    def __call__(self, controls: dict) -> dict:
        key = json.dumps(controls, sort_keys=True)
        if key not in self.seen:
            out = os.path.join(self.ns.work, f"stems-{self.ns.split}")
            shutil.rmtree(out, ignore_errors=True)
            evaluate_engine.run_cli(self.src, out, cli_args(controls, self.ns))
            scores = score(self.items, evaluate_engine.read_estimates(out, self.mixes))
            shutil.rmtree(out, ignore_errors=True)
            self.seen[key] = {"controls": controls, "objective": objective(scores), "scores": scores}
            print(json.dumps(self.seen[key]), flush=True)
        return self.seen[key]


class SynthGuard:
    """Whether a control set keeps the synthetic songs of the split (at each vocal level) within `tolerance` dB of
    the neutral controls' mean SDR over the four sources: the real set must not be won at their expense."""

    def __init__(self, ns, levels: tuple[float, ...], tolerance: float):
        self.ns, self.levels, self.tolerance = ns, levels, tolerance
        self.seen: dict[str, dict] = {}
        self.neutral = self.scores({})

    def scores(self, controls: dict) -> dict:
        key = json.dumps(controls, sort_keys=True)
        if key not in self.seen:
            out = {}
            for db in self.levels:
                args = cli_args(controls, self.ns, cache=f"estimates-synth-{self.ns.split}-{db:g}")
                with tempfile.TemporaryDirectory(prefix="xumx-calibrate-") as work:
                    r = eval_synth(
                        lambda mixes: evaluate_engine.separate_all(mixes, args, work),
                        self.ns.guard_synth,
                        self.ns.mir1k,
                        self.ns.split,
                        db,
                    )
                sdr = {k: v["global_sdr"] for k, v in r["model"].items()}
                out[f"{db:g} dB"] = {"sdr": sdr, "mean": round(float(np.mean(list(sdr.values()))), 3)}
            self.seen[key] = out
            print(json.dumps({"guard": controls, "synthetic": out}), flush=True)
        return self.seen[key]

    def __call__(self, controls: dict) -> bool:
        got = self.scores(controls)
        return all(got[k]["mean"] >= self.neutral[k]["mean"] - self.tolerance for k in got)


def search(evaluate, passes: int = 2, guard=None) -> dict:
    """Coordinate search over GRID from neutral: each control in turn takes its best value, the others held; with a
    guard, a better value is taken only when the guard passes it."""
    point = dict(NEUTRAL)
    best = evaluate(to_controls(point))
    for _ in range(passes):
        moved = False
        for control, values in GRID.items():
            for v in values:
                trial = {**point, control: v}
                r = evaluate(to_controls(trial))
                if r["objective"] > best["objective"] and (guard is None or guard(r["controls"])):
                    point, best, moved = trial, r, True
        if not moved:
            break
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mir1k", required=True, help="MIR-1K's Wavfile folder")
    ap.add_argument("--work", required=True, help="folder for decoded songs, mixtures and the estimate cache")
    ap.add_argument("--split", choices=("valid", "test"), default="valid")
    ap.add_argument("--models-dir")
    ap.add_argument("--model")
    ap.add_argument("--search", action="store_true", help="coordinate search from neutral controls")
    ap.add_argument(
        "--controls", action="append", default=[], help="a default_controls object (JSON) to score; repeatable"
    )
    ap.add_argument(
        "--guard-synth",
        metavar="SYNTH_DIR",
        help="with --search: take only control sets that keep the split's synthetic songs within --guard-tolerance",
    )
    ap.add_argument(
        "--guard-levels", default="0,-12", help="vocal levels (dB) of the guard's synthetic songs; --guard-levels=-6,0"
    )
    ap.add_argument("--guard-tolerance", type=float, default=0.1, help="dB of mean SDR the guard lets go")
    ap.add_argument("--out")
    ns = ap.parse_args(argv)
    if not ns.search and not ns.controls:
        ap.error("give --search or at least one --controls")
    if ns.search and ns.split != "valid":
        ap.error("--search chooses on the valid split only; score the chosen controls on test with --controls")
    if ns.guard_synth and not ns.search:
        ap.error("--guard-synth guards the search: give --search too")
    ns.work = os.path.abspath(ns.work)  # the CLI runs in the repository's root, not where this was started
    controls = [json.loads(c) for c in ns.controls]  # the CLI checks them as it checks a user's flags
    try:
        evaluate = Evaluator(ns)
    except ValueError as e:  # material missing: say what, not a traceback
        raise SystemExit(f"calibrate_controls: {e}") from None
    report: dict = {"split": ns.split, "items": len(evaluate.items), "model": ns.model or "default"}
    report["scored"] = [evaluate(c) for c in controls]
    if ns.search:
        guard = None
        if ns.guard_synth:
            levels = tuple(float(x) for x in ns.guard_levels.split(","))
            guard = SynthGuard(ns, levels, ns.guard_tolerance)
        tried: set[str] = set()  # the control sets the search looked at, --controls ones included only if it did

        def counted(controls: dict) -> dict:
            tried.add(json.dumps(controls, sort_keys=True))
            return evaluate(controls)

        report["chosen"] = search(counted, guard=guard)
        report["tried"] = len(tried)
        if guard:
            report["guard"] = {
                "tolerance_db": ns.guard_tolerance,
                "neutral": guard.neutral,
                "chosen": guard.scores(report["chosen"]["controls"]),
                "checked": len(guard.seen),
            }
    return evaluate_engine.write_report(report, ns.out)


if __name__ == "__main__":
    sys.exit(main())
