"""Rebuild a weights-only training checkpoint from an X-UMX ONNX file that export_onnx.py wrote.

  /usr/bin/python3 training/onnx_to_checkpoint.py --onnx models/xumx-studio-small/model.onnx --out ckpt.pt

The bundled model's checkpoint is not in git (46 MB), its ONNX is: this makes the shipped model the starting point
of the next fine-tune on any machine. Float16-stored weights come back as float32 (they were rounded to float16
once; fine-tuning continues from exactly what the app runs). BatchNorm's batch counters are not in the graph and
start at 0, which changes nothing (momentum is fixed).

How the graph maps back (torch.onnx opset 17, as export_onnx.py writes it):
- named initializers `branches.<source>.*` (normalisation, output scale/mean, batch-norm tensors) keep their names,
  with a `__fp16` suffix where stored as float16;
- each fcK weight is the right operand of the MatMul whose output feeds branches.<source>.bnK, transposed;
- each source's BLSTM is exported as one ONNX LSTM node per layer, named /lstm/LSTM, /lstm/LSTM_1, ... for the first
  source's branch, /lstm_1/... for the second and so on (the order of XUMX.forward). ONNX orders the gates i, o, f, c
  and torch i, f, g, o; the bias input holds bias_ih then bias_hh; direction 0 is forward, 1 reverse.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xumx.model import SOURCES, XUMX  # noqa: E402
from xumx.onnx_quant import INT2, INT4, unpack  # noqa: E402

# ONNX gate chunks (i, o, f, c) taken in torch's order (i, f, g=c, o)
ONNX_TO_TORCH_GATES = (0, 2, 3, 1)
LSTM_NAME = re.compile(r"^/lstm(?:_(\d+))?/LSTM(?:_(\d+))?$")
BN_NAME = re.compile(r"^branches\.([^.]+)\.bn(\d)\.weight$")


def _array(init) -> np.ndarray:
    """An initializer's values; int2 and int4 (which Debian's onnx 1.12 cannot read) unpacked, lowest bits first."""
    if init.data_type not in (INT2, INT4):
        return numpy_helper.to_array(init)
    n = int(np.prod(init.dims))
    return unpack(init.raw_data, 2 if init.data_type == INT2 else 4, n).reshape(tuple(init.dims))


def _dequantized(node, values: dict[str, np.ndarray]) -> np.ndarray:
    """What a DequantizeLinear of constant integers computes (zero point 0, as export_quantized.py writes it):
    q * scale, the scale per tensor or per slice along the node's axis."""
    q, scale = values[node.input[0]].astype(np.float32), values[node.input[1]].astype(np.float32)
    if scale.ndim:
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1) % q.ndim
        scale = scale.reshape([-1 if d == axis else 1 for d in range(q.ndim)])
    return q * scale


def _initializers(graph) -> dict[str, np.ndarray]:
    """Every constant by the name the graph's compute nodes use: float16 storage cast back to float32, integer
    weights (int4/int8 behind DequantizeLinear, an LSTM's directions of two widths joined by Concat) turned into the
    float values they stand for."""
    values = {init.name: _array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Cast" and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]]
        if node.op_type == "DequantizeLinear" and node.input[0] in values and node.input[1] in values:
            values[node.output[0]] = _dequantized(node, values)
        if node.op_type == "Concat" and all(i in values for i in node.input):  # LSTM directions of two widths
            axis = next(a.i for a in node.attribute if a.name == "axis")
            values[node.output[0]] = np.concatenate([values[i] for i in node.input], axis=axis)
    out = {}
    for name, value in values.items():
        name = name[: -len("__fp16")] if name.endswith("__fp16") else name
        out[name] = value.astype(np.float32) if value.dtype == np.float16 else value
    return out


def _gates(w: np.ndarray) -> np.ndarray:
    chunks = np.split(w, 4, axis=0)
    return np.concatenate([chunks[i] for i in ONNX_TO_TORCH_GATES], axis=0)


def state_dict_from_onnx(path: str, sources: list[str]) -> tuple[dict[str, torch.Tensor], dict]:
    graph = onnx.load(path).graph
    consts = _initializers(graph)
    state: dict[str, np.ndarray] = {}
    for name, value in consts.items():
        if name.startswith("branches."):
            state[name] = value

    # fcK: the MatMul feeding branches.<source>.bnK
    producer = {out: node for node in graph.node for out in node.output}
    for node in graph.node:
        if node.op_type != "BatchNormalization":
            continue
        m = BN_NAME.match(node.input[1])
        matmul = producer.get(node.input[0])
        if not m or matmul is None or matmul.op_type != "MatMul":
            raise ValueError(f"{path}: unexpected graph around {node.name} (not written by export_onnx.py?)")
        state[f"branches.{m.group(1)}.fc{m.group(2)}.weight"] = consts[matmul.input[1]].T

    # BLSTM layers, by node name
    lstm_nodes = {}
    for node in graph.node:
        if node.op_type != "LSTM":
            continue
        m = LSTM_NAME.match(node.name)
        if not m:
            raise ValueError(f"{path}: LSTM node named {node.name!r}, expected /lstm[_k]/LSTM[_l]")
        lstm_nodes[(int(m.group(1) or 0), int(m.group(2) or 0))] = node
    n_layers = 1 + max(layer for _, layer in lstm_nodes)
    if sorted(lstm_nodes) != [(b, k) for b in range(len(sources)) for k in range(n_layers)]:
        raise ValueError(f"{path}: {len(lstm_nodes)} LSTM nodes do not make {len(sources)} branches of equal depth")
    for (b, layer), node in lstm_nodes.items():
        w, r, bias = (consts[node.input[i]] for i in (1, 2, 3))
        if w.shape[0] != 2:
            raise ValueError(f"{path}: {node.name} is not bidirectional")
        hidden = r.shape[2]
        for d, suffix in ((0, ""), (1, "_reverse")):
            prefix = f"branches.{sources[b]}.lstm."
            state[f"{prefix}weight_ih_l{layer}{suffix}"] = _gates(w[d])
            state[f"{prefix}weight_hh_l{layer}{suffix}"] = _gates(r[d])
            state[f"{prefix}bias_ih_l{layer}{suffix}"] = _gates(bias[d, : 4 * hidden])
            state[f"{prefix}bias_hh_l{layer}{suffix}"] = _gates(bias[d, 4 * hidden :])

    first = sources[0]
    config = {
        "hidden": int(state[f"branches.{first}.bn1.weight"].shape[0]),
        "max_bin": int(state[f"branches.{first}.input_mean"].shape[0]),
        "n_layers": n_layers,
        "sources": list(sources),
    }
    return {k: torch.from_numpy(np.array(v, dtype=v.dtype, copy=True)) for k, v in state.items()}, config


def recover(onnx_path: str, sources: list[str]) -> dict:
    """A weights-only checkpoint (the format of checkpoint.weights_only) holding the ONNX file's network."""
    weights, config = state_dict_from_onnx(onnx_path, sources)
    model = XUMX(
        hidden=config["hidden"], max_bin=config["max_bin"], n_layers=config["n_layers"], sources=tuple(sources)
    )
    full = model.state_dict()
    missing = [k for k in full if k not in weights and not k.endswith("num_batches_tracked")]
    extra = [k for k in weights if k not in full]
    if missing or extra:
        raise ValueError(f"{onnx_path}: tensors missing {missing[:4]} / unexpected {extra[:4]}")
    for k, v in weights.items():
        if tuple(v.shape) != tuple(full[k].shape):
            raise ValueError(f"{onnx_path}: {k} has shape {tuple(v.shape)}, the model expects {tuple(full[k].shape)}")
    model.load_state_dict({**full, **weights})
    return {
        "model": model.state_dict(),
        "config": model.config(),
        "info": {"recovered_from_onnx": os.path.abspath(onnx_path)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument(
        "--sources",
        default=None,
        help="comma-separated source order; default: the manifest.json beside the ONNX, else X-UMX's",
    )
    args = ap.parse_args()
    if args.sources:
        sources = args.sources.split(",")
    else:
        manifest = os.path.join(os.path.dirname(os.path.abspath(args.onnx)), "manifest.json")
        sources = json.load(open(manifest))["sources"] if os.path.exists(manifest) else list(SOURCES)
    ckpt = recover(args.onnx, sources)
    tmp = args.out + ".tmp"
    torch.save(ckpt, tmp)
    os.replace(tmp, args.out)
    print(json.dumps({"out": args.out, "config": ckpt["config"]}))


if __name__ == "__main__":
    main()
