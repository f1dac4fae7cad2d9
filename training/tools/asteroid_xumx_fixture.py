"""Write a random checkpoint with asteroid's X-UMX names and shapes, packaged as asteroid's serialize() does
({model_name, state_dict, model_args, infos}), and optionally run the reference forward pass (tests only).

  /usr/bin/python3 training/tools/asteroid_xumx_fixture.py OUT.bin [--seed N] [--hidden 512] [--drop NAME]
  /usr/bin/python3 training/tools/asteroid_xumx_fixture.py CKPT.bin --reference IN.f32 OUT.f32 --shape B,2,2049,T
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from asteroid_xumx import DEFAULT_SOURCES, expected_shapes, load_checkpoint, reference_forward  # noqa: E402


def random_state(hidden, seed, drop=()):
    g = torch.Generator().manual_seed(seed)
    state = {"encoder.0.window": torch.hann_window(4096)}
    for name, shape in expected_shapes(DEFAULT_SOURCES, hidden=hidden).items():
        leaf = name.rsplit(".", 1)[-1]
        if "input_mean" in name:
            t = -2.0 * torch.rand(shape, generator=g)
        elif "input_scale" in name:
            t = 0.3 + 1.2 * torch.rand(shape, generator=g)
        elif "output_" in name:
            t = 1.0 + 0.3 * torch.randn(shape, generator=g)
        elif leaf == "running_var":
            t = 0.2 + 1.8 * torch.rand(shape, generator=g)
        elif leaf == "running_mean" or (leaf == "bias" and "layer_lstm" not in name):
            t = 0.2 * torch.randn(shape, generator=g)
        elif leaf == "weight" and (".enc.1." in name or ".dec.1." in name or ".dec.4." in name):
            t = 1.0 + 0.2 * torch.randn(shape, generator=g)
        elif "layer_lstm" in name:
            t = (2 * torch.rand(shape, generator=g) - 1) / np.sqrt(shape[0] // 4)
        else:
            t = torch.randn(shape, generator=g) / np.sqrt(shape[1])
        if name not in drop:
            state[name] = t.float()
        if leaf == "running_var":
            state[name.replace("running_var", "num_batches_tracked")] = torch.tensor(1000)
    state["decoder.window"] = state["encoder.0.window"]
    return state


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--reference", nargs=2, metavar=("IN", "OUT"))
    ap.add_argument("--shape")
    args = ap.parse_args(argv)
    if args.reference:
        state, margs = load_checkpoint(args.path)
        shape = tuple(int(v) for v in args.shape.split(","))
        mix = torch.from_numpy(np.fromfile(args.reference[0], dtype="<f4").reshape(shape))
        est = reference_forward(
            state, tuple(margs["sources"]), mix, hidden=margs["hidden_size"], max_bin=margs["max_bin"]
        )
        est.numpy().astype("<f4").tofile(args.reference[1])
        return 0
    model_args = {
        "window_length": 4096,
        "in_chan": 4096,
        "n_hop": 1024,
        "sample_rate": 44100,
        "sources": list(DEFAULT_SOURCES),
        "hidden_size": args.hidden,
        "nb_channels": 2,
        "input_mean": None,
        "input_scale": None,
        "max_bin": 1487,
        "nb_layers": 3,
        "bidirectional": True,
        "spec_power": 1,
        "return_time_signals": False,
    }
    torch.save(
        {
            "model_name": "XUMX",
            "state_dict": random_state(args.hidden, args.seed, set(args.drop)),
            "model_args": model_args,
            "infos": {"software_versions": {}},
        },
        args.path,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
