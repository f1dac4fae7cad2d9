"""Write a random X-UMX parameter file in the layout nnabla's `save_parameters` gives Sony's x-umx.h5 (tests only).

  /usr/bin/python3 training/tools/nnabla_xumx_fixture.py OUT.h5 [--seed N] [--hidden 512] [--max-bin 1487]
      [--drop NAME] [--reshape NAME] [--dtype f4|f8|f2]

Layout, as nnabla writes it (nnabla/utils/get_file_handle.py, _h5_parameter_file_saver): one dataset per parameter,
named by its full scope path ("fc1_bass/affine/W"), so h5py creates the groups on the way; each dataset carries
the attributes `need_grad` (bool) and `index` (int, creation order). Names and shapes follow sony/ai-research-code
x-umx/model.py (OpenUnmix_CrossNet) and nnabla's parametric functions (affine W is (inmaps, outmaps); batch norm
keeps beta/gamma/mean/var shaped like the input with 1 outside `axes`; lstm keeps weight_l0 (D, 4, H, I + H),
weight (L-1, D, 4, H, D*H + H), bias (L, D, 4, H)). Values are random but in plausible ranges, so a parity test
exercises every parameter. Never a separator: these networks are noise.
"""
from __future__ import annotations

import argparse
import sys

import h5py
import numpy as np

SOURCES = ("bass", "drums", "vocals", "other")
N_BINS = 2049
CHANNELS = 2
LAYERS = 3


def parameter_list(hidden: int, max_bin: int):
    """(name, shape, need_grad) in the order OpenUnmix_CrossNet creates them."""
    out = []
    for kind in ("input_mean", "input_scale"):
        out += [(f"{kind}_{s}", (max_bin,), True) for s in SOURCES]
    for kind in ("output_scale", "output_mean"):
        out += [(f"{kind}_{s}", (N_BINS,), True) for s in SOURCES]

    def fc_bn(scope, n_in, n_out):
        return [
            (f"{scope}/affine/W", (n_in, n_out), True),
            (f"{scope}/bn/beta", (1, 1, n_out), True),
            (f"{scope}/bn/gamma", (1, 1, n_out), True),
            (f"{scope}/bn/mean", (1, 1, n_out), False),
            (f"{scope}/bn/var", (1, 1, n_out), False),
        ]

    h = hidden // 2
    for s in SOURCES:
        out += fc_bn(f"fc1_{s}", CHANNELS * max_bin, hidden)
    for s in SOURCES:
        out += [
            (f"lstm_{s}/lstm/weight_l0", (2, 4, h, hidden + h), True),
            (f"lstm_{s}/lstm/weight", (LAYERS - 1, 2, 4, h, 2 * h + h), True),
            (f"lstm_{s}/lstm/bias", (LAYERS, 2, 4, h), True),
        ]
    for s in SOURCES:
        out += fc_bn(f"fc2_{s}", 2 * hidden, hidden)
    for s in SOURCES:
        out += fc_bn(f"fc3_{s}", hidden, CHANNELS * N_BINS)
    return out


def random_value(name: str, shape, rng: np.random.Generator) -> np.ndarray:
    leaf = name.split("/")[-1]
    if name.startswith("input_mean"):
        return -rng.uniform(0.0, 2.0, shape)
    if name.startswith("input_scale"):
        return rng.uniform(0.3, 1.5, shape)
    if name.startswith("output_scale") or name.startswith("output_mean"):
        return 1.0 + 0.3 * rng.standard_normal(shape)
    if leaf == "W":
        return rng.standard_normal(shape) / np.sqrt(shape[0])
    if leaf in ("weight_l0", "weight"):
        return rng.uniform(-1.0, 1.0, shape) / np.sqrt(shape[-2])
    if leaf == "bias":
        return 0.2 * rng.standard_normal(shape)
    if leaf == "gamma":
        return 1.0 + 0.2 * rng.standard_normal(shape)
    if leaf in ("beta", "mean"):
        return 0.2 * rng.standard_normal(shape)
    if leaf == "var":
        return rng.uniform(0.2, 2.0, shape)
    raise ValueError(name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--max-bin", type=int, default=1487)
    ap.add_argument("--drop", action="append", default=[], help="leave this parameter out")
    ap.add_argument("--reshape", action="append", default=[], help="give this parameter one element less")
    ap.add_argument("--dtype", default="f4")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    with h5py.File(args.out, "w") as hd:
        index = 0
        for name, shape, need_grad in parameter_list(args.hidden, args.max_bin):
            if name in args.drop:
                continue
            if name in args.reshape:
                shape = shape[:-1] + (shape[-1] - 1,)
            hd[name] = random_value(name, shape, rng).astype(args.dtype)
            hd[name].attrs["need_grad"] = need_grad
            hd[name].attrs["index"] = index
            index += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
