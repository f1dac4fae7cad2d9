"""Re-estimate a checkpoint's batch-norm statistics over many training mixtures ("precise BN").

During training each BatchNorm keeps a running average with momentum 0.1, so a checkpoint carries statistics of
its last ten or so batches: with CPU-sized batches of four mixtures (some low-passed, some over karaoke tracks)
they swing from one checkpoint to the next. This runs the network with its batch norms in training mode, without
gradients or weight changes and with dropout off, over `--batches` fresh batches from the training sampler and
stores the plain average of their statistics.

  /usr/bin/python3 training/recompute_bn.py --renders training/data/build/synth \\
      --mir1k training/data/build/mir1k/dataset/mir-1k/Wavfile --batches 48 RUN/step-003378.pt ...

Writes RUN/step-003378.bn.pt (weights-only) beside each checkpoint given.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xumx import checkpoint  # noqa: E402
from xumx.packdata import MixSampler, Pack  # noqa: E402
from xumx.transforms import stft  # noqa: E402


def recompute(model: torch.nn.Module, batches) -> None:
    """Replaces every BatchNorm's running statistics by their average over `batches` (mixtures [B, 2, n])."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    model.eval()  # the LSTM's dropout stays off, as in inference: only the batch norms gather statistics
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
        bn.train()
    with torch.no_grad():
        for mix in batches:
            model(stft(mix).abs())
    for bn in norms:
        bn.momentum = 0.1
    model.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--renders", required=True)
    ap.add_argument("--mir1k")
    ap.add_argument("--batches", type=int, default=48)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--p-lowpass", type=float, default=0.25)
    ap.add_argument("--p-karaoke", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=4321)
    args = ap.parse_args(argv)
    sampler = MixSampler(
        Pack.from_renders(args.renders, args.mir1k, "train"),
        seconds=args.seconds,
        p_lowpass=args.p_lowpass,
        p_karaoke=args.p_karaoke,
    )
    g = torch.Generator().manual_seed(args.seed)
    batches = [sampler.batch(args.batch, g)[0] for _ in range(args.batches)]
    for path in args.checkpoints:
        ckpt = checkpoint.load(path)
        model = checkpoint.model_from(ckpt)
        recompute(model, batches)
        out = path[:-3] + ".bn.pt" if path.endswith(".pt") else path + ".bn.pt"
        torch.save(
            {
                **checkpoint.weights_only(ckpt),
                "model": model.state_dict(),
                "bn_recomputed": {"batches": args.batches, "batch": args.batch, "seed": args.seed},
            },
            out,
        )
        print(out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
