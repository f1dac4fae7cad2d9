"""Checkpoint files: load on torch 1.13 and 2.x alike, keep only the weights, average several, split into parts and
join them.

The GPU machine returns files of at most 16 MiB, so a weights-only checkpoint travels as numbered parts.
"""
from __future__ import annotations

import glob
import os

import torch

from .model import XUMX


def load(path: str, device="cpu") -> dict:
    try:
        return torch.load(path, map_location=device, weights_only=False)
    except TypeError:  # a torch without the weights_only argument
        return torch.load(path, map_location=device)


def model_from(ckpt: dict) -> XUMX:
    cfg = ckpt["config"]
    model = XUMX(hidden=cfg["hidden"], max_bin=cfg["max_bin"], n_layers=cfg["n_layers"], sources=tuple(cfg["sources"]))
    model.load_state_dict(ckpt["model"])
    return model.eval()


def weights_only(ckpt: dict) -> dict:
    """Model, config, progress and scheduler; no optimizer or RNG (a later run warm-starts from it)."""
    keep = ("model", "config", "step", "elapsed_s", "best_valid", "args", "info", "scheduler")
    return {k: ckpt[k] for k in keep if k in ckpt}


def average(ckpts: list[dict]) -> dict:
    """The mean of several checkpoints' weights (BatchNorm statistics included), as a weights-only checkpoint with
    the last one's config and progress. Small-batch CPU training moves the weights noisily from one validation to
    the next; the mean of the last few is a steadier model than any one of them."""
    if not ckpts:
        raise ValueError("average: no checkpoints")
    last = weights_only(ckpts[-1])
    model = {}
    for name, value in last["model"].items():
        if value.is_floating_point():
            model[name] = sum(c["model"][name].double() for c in ckpts).div(len(ckpts)).to(value.dtype)
        else:  # counters such as BatchNorm's num_batches_tracked
            model[name] = value.clone()
    return {**last, "model": model, "averaged_steps": [c.get("step") for c in ckpts]}


def split(path: str, out_prefix: str, part_bytes: int = 15 * 2**20) -> list[str]:
    with open(path, "rb") as f:
        data = f.read()
    parts = []
    for i in range(0, max(len(data), 1), part_bytes):
        name = f"{out_prefix}.part{i // part_bytes:02d}"
        with open(name, "wb") as f:
            f.write(data[i : i + part_bytes])
        parts.append(name)
    return parts


def join(prefix: str, out_path: str) -> str:
    parts = sorted(glob.glob(prefix + ".part[0-9][0-9]"))
    if not parts:
        raise FileNotFoundError(f"no parts named {prefix}.partNN")
    with open(out_path + ".tmp", "wb") as out:
        for p in parts:
            with open(p, "rb") as f:
                out.write(f.read())
    os.replace(out_path + ".tmp", out_path)
    return out_path
