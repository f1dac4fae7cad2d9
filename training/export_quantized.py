"""Export X-UMX with quantized weights stored as integers (int2 / int4 / int8 / int16 + DequantizeLinear) to the
engine's model contract.

  /usr/bin/python3 training/export_quantized.py --out DIR --id ID [--checkpoint CKPT | --random-init --seed 0
      --hidden H] [--bits 4 [--layer-bits NAME=B,...] | --quantized QCKPT] [--init max|mse] [--int2]
      [--fp16-float-parts] [--reference-io DIR]

Without --quantized the quantizers are post-training: every weight matrix at --bits, its range either the largest
weight (--init max: round to nearest over the full range) or fitted to the weight MSE (--init mse); no data and no
training. With --quantized, the quantizer state of a quantization-aware run (QuantizedXUMX.state_dict()) gives the
weights and the learned per-layer bitwidths.

2-bit layers are stored as int4 unless --int2 (int2, opset 25: half the bytes; onnxruntime 1.30 reads it, older
releases and other ONNX tools may not).

The rest of the network (biases, batch norm, input/output scaling; xumx/quant.py says why) stays float32, or
float16 with --fp16-float-parts (lossless for the bundled model, whose float weights came from a float16 file).
The manifest records the precision: weights_dtype ("int4", "int4+int8", ...) and a "quantization" object with the
average bits per weight and each layer's bits. --reference-io writes the quantized torch model's output, which the
ONNX must reproduce.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_onnx import add_common_args, export, load_model, write_manifest, write_reference_io  # noqa: E402
from xumx.onnx_fp16 import store_initializers_as_fp16  # noqa: E402
from xumx.onnx_quant import storage_for, store_quantized  # noqa: E402
from xumx.quant import PARAMETRIZATIONS, QuantizedXUMX, bitwidth_log, summary, weight_slots  # noqa: E402


def quantized_layers(qmodel: QuantizedXUMX) -> list[dict]:
    layers = []
    for row in bitwidth_log(qmodel):
        q = qmodel.quantizer(row["layer"])
        ints, step, bits = q.integers()
        layers.append(
            {"layer": row["layer"], "values": (ints.float() * torch.tensor(step)).numpy(), "step": step, "bits": bits}
        )
    return layers


def describe(qmodel: QuantizedXUMX, method: str, storage: dict[str, str]) -> tuple[str, dict]:
    """(weights_dtype, the manifest's "quantization" object)."""
    s = summary(qmodel)
    kinds = sorted(set(storage.values()), key=lambda k: int(k[3:]))  # "int2" < "int4" < "int8" < "int16"
    rows = bitwidth_log(qmodel)
    return "+".join(kinds), {
        "method": method,
        "scheme": "symmetric uniform, one step per weight matrix, zero point 0 (DequantizeLinear)",
        "bits_per_weight": round(s["bits_per_weight"], 4),
        "quantized_weights": s["weight_elements"],
        "float_parts": "biases, batch norm, input/output scaling",
        "layers": [
            {"layer": r["layer"], "bits": r["bits"], "storage": storage[r["layer"]], "elements": r["elements"]}
            for r in rows
        ],
    }


def layer_bits(spec: str | None, names: list[str], default: int) -> dict[str, int]:
    """--layer-bits "fc1=8,_reverse=6" -> bits per layer name (later entries win), the rest at `default`."""
    bits = {n: default for n in names}
    for item in filter(None, (spec or "").split(",")):
        key, _, value = item.partition("=")
        if not value.isdigit() or not any(key in n for n in names):
            raise SystemExit(
                f"export_quantized: --layer-bits item {item!r} must be NAME=BITS with NAME part of a layer "
                f"name such as {names[0]!r}"
            )
        for n in names:
            if key in n:
                bits[n] = int(value)
    return bits


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap)
    ap.add_argument("--bits", type=int, default=8, help="post-training bitwidth of every weight matrix (2-16)")
    ap.add_argument("--layer-bits", metavar="NAME=B,...", help="other bitwidths for the layers whose name has NAME")
    ap.add_argument(
        "--init",
        choices=("max", "mse"),
        default="max",
        help="post-training range: the largest weight, or fitted to the weight MSE",
    )
    ap.add_argument("--parametrization", choices=PARAMETRIZATIONS, default="d_qmax")
    ap.add_argument("--quantized", help="quantizer state of a quantization-aware run (replaces --bits/--init)")
    ap.add_argument("--int2", action="store_true", help="store 2-bit layers as int2 (opset 25) instead of int4")
    ap.add_argument("--fp16-float-parts", action="store_true")
    args = ap.parse_args(argv)
    if not 2 <= args.bits <= 16:
        ap.error(f"--bits must be 2..16, got {args.bits}")

    model, info = load_model(args)
    bits = layer_bits(args.layer_bits, [name for name, _, _ in weight_slots(model)], args.bits)
    if not all(2 <= b <= 16 for b in bits.values()):
        ap.error("--layer-bits: bitwidths must be 2..16")
    state = torch.load(args.quantized, map_location="cpu") if args.quantized else None
    if state is not None and "args" in state:  # the run decides how its quantizers are parametrized
        args.parametrization = state["args"]["parametrization"]
    qmodel = QuantizedXUMX(model, args.parametrization, bits, args.init)
    if state is not None:
        qmodel.load_state_dict(state.get("model", state))
        method = f"quantization-aware training ({args.parametrization}), {args.quantized}"
    else:
        method = (
            f"post-training, no fine-tune: {args.bits}-bit"
            + (f" ({args.layer_bits})" if args.layer_bits else "")
            + ", "
            + (
                "range = largest weight (round to nearest)"
                if args.init == "max"
                else "range fitted to the " "weight MSE"
            )
        )
    for row in bitwidth_log(qmodel):
        storage_for(row["bits"], args.int2)  # refuse before exporting anything
    baked = qmodel.baked()

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    export(baked, onnx_path)
    stored = store_quantized(onnx_path, quantized_layers(qmodel), int2=args.int2)
    if args.fp16_float_parts:
        store_initializers_as_fp16(onnx_path)
    if args.reference_io:
        write_reference_io(baked, args.reference_io, args.seed)
    dtype, quantization = describe(qmodel, method, stored["storage"])
    manifest = write_manifest(
        args,
        baked,
        info,
        onnx_path,
        weights_dtype=dtype,
        opset=stored["opset"],
        extra={"quantization": quantization, "float_parts_dtype": "float16" if args.fp16_float_parts else "float32"},
    )
    print(
        json.dumps(
            {
                "onnx": onnx_path,
                "size": manifest["size"],
                "sha256": manifest["sha256"],
                "weights_dtype": dtype,
                "bits_per_weight": quantization["bits_per_weight"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
