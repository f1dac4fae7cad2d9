"""Convert asteroid's X-UMX checkpoint (e.g. Hugging Face r-sawata/XUMX_MUSDB18_music_separation, pytorch_model.bin)
to the engine's ONNX model contract.

  /usr/bin/python3 training/tools/convert_asteroid.py pytorch_model.bin --out models/xumx-asteroid [--id ID]
      [--license TEXT] [--provenance TEXT]

Checks every parameter name and shape of asteroid's XUMX, maps them one to one onto training/xumx/model.py (same
semantics: input mean added, input scale multiplied, bias-free dense layers with batch norm eps 1e-5, torch LSTM
gate order on both sides, output scale then output mean), exports with torch.onnx (input `mix_mag`
[batch, 2, 2049, frames], output `est_mag` [sources, batch, 2, 2049, frames], opset 17) and writes manifest.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from asteroid_xumx import CheckpointError, load_checkpoint, validate  # noqa: E402
from xumx.model import XUMX  # noqa: E402
from export_onnx import sha256  # noqa: E402

OPSET = 17
HF_REPO = "r-sawata/XUMX_MUSDB18_music_separation"
# asteroid egs/musdb18/X-UMX/README.md, "Results on MUSDB18", median of median SDR of this checkpoint.
ASTEROID_METRICS = {
    "dataset": "MUSDB18 test set",
    "measure": "median SDR in dB (museval), as published in asteroid's egs/musdb18/X-UMX README for this checkpoint",
    "sdr": {"vocals": 6.612, "drums": 6.471, "bass": 5.426, "other": 4.639},
    "measured_here": False,
}


def to_studio_state(state, sources, layers):
    """asteroid names -> training/xumx/model.py names (shapes are identical: both are torch modules)."""
    out = {}
    bn_keys = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    for s in sources:
        b = f"branches.{s}."
        out[b + "input_mean"] = state[f"mean_scale.input_mean_{s}"]
        out[b + "input_scale"] = state[f"mean_scale.input_scale_{s}"]
        out[b + "output_mean"] = state[f"mean_scale.output_mean_{s}"]
        out[b + "output_scale"] = state[f"mean_scale.output_scale_{s}"]
        out[b + "fc1.weight"] = state[f"layer_enc.{s}.enc.0.weight"]
        out[b + "fc2.weight"] = state[f"layer_dec.{s}.dec.0.weight"]
        out[b + "fc3.weight"] = state[f"layer_dec.{s}.dec.3.weight"]
        for ours, theirs in (
            ("bn1", f"layer_enc.{s}.enc.1"),
            ("bn2", f"layer_dec.{s}.dec.1"),
            ("bn3", f"layer_dec.{s}.dec.4"),
        ):
            for k in bn_keys:
                out[f"{b}{ours}.{k}"] = state.get(f"{theirs}.{k}", torch.tensor(0, dtype=torch.long))
        for k in range(layers):
            for suffix in ("", "_reverse"):
                for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    out[f"{b}lstm.{p}_l{k}{suffix}"] = state[f"layer_lstm.{s}.{p}_l{k}{suffix}"]
    return {k: (v.float() if v.is_floating_point() else v) for k, v in out.items()}


def build_model(path):
    state, args = load_checkpoint(path)
    sources, hidden, max_bin, layers = validate(path, state, args)
    model = XUMX(hidden=hidden, max_bin=max_bin, n_layers=layers, sources=sources)
    model.load_state_dict(to_studio_state(state, sources, layers), strict=True)
    return model.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--out", required=True, help="model folder to write (model.onnx + manifest.json)")
    ap.add_argument("--id", default="xumx-asteroid-musdb18")
    ap.add_argument("--name", default="X-UMX (asteroid, MUSDB18)")
    ap.add_argument("--license", default=f"unknown here: as stated on the model card of {HF_REPO} (Hugging Face)")
    ap.add_argument(
        "--provenance",
        default=f"asteroid X-UMX checkpoint {HF_REPO} (Hugging Face), trained on MUSDB18 "
        "by the X-UMX authors; converted with training/tools/convert_asteroid.py",
    )
    ap.add_argument("--no-metrics", action="store_true", help="leave out the published scores (for other checkpoints)")
    args = ap.parse_args(argv)
    try:
        model = build_model(args.checkpoint)
    except (CheckpointError, FileNotFoundError, RuntimeError) as e:
        print(f"convert_asteroid: {e}", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    warnings.filterwarnings("ignore", category=UserWarning)
    torch.onnx.export(
        model,
        torch.rand(1, 2, 2049, 8),
        onnx_path,
        input_names=["mix_mag"],
        output_names=["est_mag"],
        opset_version=OPSET,
        do_constant_folding=True,
        dynamic_axes={"mix_mag": {0: "batch", 3: "frames"}, "est_mag": {1: "batch", 4: "frames"}},
    )
    manifest = {
        "id": args.id,
        "name": args.name,
        "architecture": "x-umx",
        "sources": list(model.sources),
        "sample_rate": 44100,
        "n_fft": 4096,
        "hop": 1024,
        "file": "model.onnx",
        "sha256": sha256(onnx_path),
        "size": os.path.getsize(onnx_path),
        "license": args.license,
        "provenance": args.provenance,
        "metrics": {} if args.no_metrics else ASTEROID_METRICS,
        "hidden_size": model.hidden,
        "max_bin": model.max_bin,
        "opset": OPSET,
        "converted_from": {
            "format": "asteroid XUMX state_dict (torch)",
            "file": os.path.basename(args.checkpoint),
            "sha256": sha256(args.checkpoint),
            "size": os.path.getsize(args.checkpoint),
        },
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(json.dumps({"onnx": onnx_path, "sha256": manifest["sha256"], "size": manifest["size"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
