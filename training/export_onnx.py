"""Export an X-UMX checkpoint (or a seeded random network, for tests only) to the engine's ONNX contract.

  /usr/bin/python3 training/export_onnx.py --out DIR --id ID [--checkpoint CKPT | --random-init --seed 0]
      --hidden H [--fp16-weights] [--reference-io DIR]

Writes DIR/model.onnx (input `mix_mag` float32 [batch, 2, 2049, frames], output `est_mag` float32
[4, batch, 2, 2049, frames], opset 17) and DIR/manifest.json. With --fp16-weights the large initializers are
stored as float16 and cast to float32 inside the graph, so compute stays float32 (onnxruntime folds the casts
when it loads the model). --reference-io writes a seeded input and the torch output as raw little-endian float32
files plus io.json, so tests can check the ONNX against torch.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xumx import checkpoint  # noqa: E402
from xumx.model import HOP, N_BINS, N_FFT, XUMX, count_parameters  # noqa: E402
from xumx.onnx_fp16 import store_initializers_as_fp16  # noqa: E402

OPSET = 17


def randomise(model: XUMX, seed: int) -> None:
    """Seeded random weights *and* statistics, so a parity test exercises every parameter and buffer."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        for b in model.branches.values():
            b.input_mean.copy_(-torch.rand(b.input_mean.shape, generator=g))
            b.input_scale.copy_(0.5 + torch.rand(b.input_scale.shape, generator=g))
            b.output_mean.add_(1.0)
            for bn in (b.bn1, b.bn2, b.bn3):
                bn.running_mean.copy_(torch.randn(bn.running_mean.shape, generator=g) * 0.1)
                bn.running_var.copy_(0.5 + torch.rand(bn.running_var.shape, generator=g))


def load_model(args) -> tuple[XUMX, dict]:
    if args.checkpoint:
        ckpt = checkpoint.load(args.checkpoint)
        cfg = ckpt["config"]
        model = XUMX(
            hidden=cfg["hidden"], max_bin=cfg["max_bin"], n_layers=cfg["n_layers"], sources=tuple(cfg["sources"])
        )
        model.load_state_dict(ckpt["model"])
        return model, ckpt.get("info", {})
    torch.manual_seed(args.seed)
    model = XUMX(hidden=args.hidden)
    randomise(model, args.seed)
    return model, {}


def export(model: XUMX, path: str) -> None:
    # torch 1.13 warns about LSTM batch sizes and constant shape inference; the parity test is the real check.
    warnings.filterwarnings("ignore", category=UserWarning)
    model.eval()
    dummy = torch.rand(1, 2, N_BINS, 8)
    torch.onnx.export(
        model,
        dummy,
        path,
        input_names=["mix_mag"],
        output_names=["est_mag"],
        opset_version=OPSET,
        dynamic_axes={"mix_mag": {0: "batch", 3: "frames"}, "est_mag": {1: "batch", 4: "frames"}},
        do_constant_folding=True,
    )


def write_reference_io(model: XUMX, out_dir: str, seed: int) -> None:
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.rand(2, 2, N_BINS, 11, generator=g) * 3.0
    with torch.no_grad():
        y = model.eval()(x)
    x.numpy().astype("<f4").tofile(os.path.join(out_dir, "input.f32"))
    y.numpy().astype("<f4").tofile(os.path.join(out_dir, "output.f32"))
    with open(os.path.join(out_dir, "io.json"), "w") as f:
        json.dump({"input": list(x.shape), "output": list(y.shape), "dtype": "float32-le"}, f)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def add_common_args(ap: argparse.ArgumentParser) -> None:
    """The options every exporter shares: where to, which weights, what the manifest says."""
    ap.add_argument("--out", required=True)
    ap.add_argument("--id", required=True)
    ap.add_argument("--name")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint")
    src.add_argument("--random-init", action="store_true", help="seeded random weights: for tests only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=240, help="ignored with --checkpoint (taken from it)")
    ap.add_argument("--reference-io", help="directory for a torch input/output pair (raw float32)")
    ap.add_argument("--license", default="MIT")
    ap.add_argument("--provenance", default=None)
    ap.add_argument("--metrics", default=None, help="JSON file with evaluation results to embed")


def write_manifest(
    args, model: XUMX, info: dict, onnx_path: str, weights_dtype: str, opset: int, extra: dict | None = None
) -> dict:
    """Writes manifest.json beside the ONNX file (the engine's model contract) and returns it."""
    metrics = {}
    if args.metrics:
        with open(args.metrics) as f:
            metrics = json.load(f)
    manifest = {
        "id": args.id,
        "name": args.name
        or (
            f"X-UMX random test network (hidden {model.hidden})"
            if args.random_init
            else f"X-UMX Studio (hidden {model.hidden})"
        ),
        "architecture": "x-umx",
        "sources": list(model.sources),
        "sample_rate": 44100,
        "n_fft": N_FFT,
        "hop": HOP,
        "file": "model.onnx",
        "sha256": sha256(onnx_path),
        "size": os.path.getsize(onnx_path),
        "license": args.license,
        "provenance": args.provenance
        or (
            "random initialisation (seed %d); not a separator" % args.seed
            if args.random_init
            else info.get("provenance", "unknown")
        ),
        "metrics": metrics,
        "hidden_size": model.hidden,
        "max_bin": model.max_bin,
        "parameters": count_parameters(model),
        "weights_dtype": weights_dtype,
        "opset": opset,
        **(extra or {}),
    }
    if args.random_init:
        manifest["test_only"] = True
    with open(os.path.join(os.path.dirname(onnx_path), "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap)
    ap.add_argument("--fp16-weights", action="store_true")
    args = ap.parse_args(argv)

    model, info = load_model(args)
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    export(model, onnx_path)
    if args.fp16_weights:
        store_initializers_as_fp16(onnx_path)
    if args.reference_io:
        write_reference_io(model, args.reference_io, args.seed)
    manifest = write_manifest(
        args, model, info, onnx_path, weights_dtype="float16" if args.fp16_weights else "float32", opset=OPSET
    )
    print(json.dumps({"onnx": onnx_path, "size": manifest["size"], "sha256": manifest["sha256"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
