"""Store an exported X-UMX's quantized weight matrices as integers with DequantizeLinear, so the file is as small as
the bitwidths say.

The graph is first exported from the network holding the quantized float weights (QuantizedXUMX.baked()); torch's
exporter transposes the Linear weights and reorders and stacks the LSTM gates of both directions, so each quantized
tensor is found among the initializers by its values, not its name: a permutation keeps the multiset of values, and
every quantized value is an exact multiple of its layer's step. Each match becomes an integer initializer (int4 for
b <= 4, int8 for b <= 8, int16 up to 16 bits; with int2=True also int2 for b <= 2; one scale per layer, so an LSTM
initializer holding both directions gets a per-axis scale on its direction axis) and a DequantizeLinear node writing
the original name; float32(q) * scale reproduces the exported float bit for bit. int4 and int16 need opset 21, int2
opset 25, which the graph is then raised to (the exported operators mean the same there). onnx 1.12 (Debian's) has
no checker for opset 25; onnxruntime-node 1.30 loads and folds int2 DequantizeLinear (test/integration).
"""
from __future__ import annotations

import hashlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INT4 = 22  # TensorProto.INT4; onnx < 1.16 has no name for it, the field is a plain int32
INT2 = 26  # TensorProto.INT2 (onnx 1.20, opset 25)
STORAGE = ((4, INT4, "int4"), (8, TensorProto.INT8, "int8"), (16, TensorProto.INT16, "int16"))
INT2_STORAGE = ((2, INT2, "int2"),) + STORAGE
QDQ_OPSET = 21
INT2_OPSET = 25


def storage_for(bits: int, int2: bool = False) -> tuple[int, str]:
    for limit, dtype, name in INT2_STORAGE if int2 else STORAGE:
        if bits <= limit:
            return dtype, name
    raise ValueError(f"no integer storage for {bits}-bit weights (at most 16)")


def _packed(flat: np.ndarray, width: int) -> bytes:
    """Two's-complement fields of `width` bits (2 or 4), the first element in the lowest bits of its byte."""
    per = 8 // width
    fields = (flat & ((1 << width) - 1)).astype(np.uint8)
    fields = np.concatenate([fields, np.zeros(-fields.size % per, np.uint8)])
    out = np.zeros(fields.size // per, np.uint8)
    for i in range(per):
        out |= fields[i::per] << (i * width)
    return out.tobytes()


def unpack(raw: bytes, width: int, n: int) -> np.ndarray:
    """The signed integers `_packed` wrote (int8 array of n elements)."""
    packed = np.frombuffer(raw, np.uint8)
    per = 8 // width
    fields = np.stack([(packed >> (i * width)) & ((1 << width) - 1) for i in range(per)], axis=1).ravel()
    fields = fields[:n].astype(np.int8)
    return np.where(fields >= 1 << (width - 1), fields - (1 << width), fields)


def _fingerprint(values: np.ndarray) -> str:
    return hashlib.sha1(np.sort(values.astype(np.float32).ravel()).tobytes()).hexdigest()


def _int_tensor(q: np.ndarray, dtype: int, name: str) -> TensorProto:
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(q.shape)
    flat = q.astype(np.int64).ravel()
    if dtype in (INT2, INT4):
        t.raw_data = _packed(flat, 2 if dtype == INT2 else 4)
    elif dtype == TensorProto.INT8:
        t.raw_data = flat.astype("<i1").tobytes()
    else:
        t.raw_data = flat.astype("<i2").tobytes()
    return t


def _integers_of(values: np.ndarray, step: float, what: str) -> np.ndarray:
    scale = np.float32(step)
    q = np.round(values.astype(np.float64) / np.float64(scale))
    if not np.array_equal((q.astype(np.float32) * scale).astype(np.float32), values.astype(np.float32)):
        raise ValueError(f"{what}: the exported weights are not whole multiples of the layer's step")
    return q


def store_quantized(path: str, layers: list[dict], int2: bool = False) -> dict:
    """Rewrite the model at `path` in place. layers: {"layer", "values" (float32 array, the quantized weights in
    torch's layout), "step", "bits"}; int2: 2-bit layers as int2 instead of int4. Returns {"opset", "storage":
    {layer: "int4"|...}, "initializers": n}."""
    model = onnx.load(path)
    graph = model.graph
    by_print: dict[str, dict] = {}
    for layer in layers:
        key = _fingerprint(layer["values"])
        if key in by_print:
            raise ValueError(f"layers {by_print[key]['layer']} and {layer['layer']} hold the same values")
        by_print[key] = layer
    found: dict[str, str] = {}
    replaced, new_inits, nodes = set(), [], []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or len(init.dims) not in (2, 3):
            continue
        w = numpy_helper.to_array(init)
        slices = [w] if w.ndim == 2 else [w[i] for i in range(w.shape[0])]
        matches = [by_print.get(_fingerprint(s)) for s in slices]
        if not all(matches):
            continue
        qs = [_integers_of(s, m["step"], m["layer"]) for s, m in zip(slices, matches)]
        kinds = [storage_for(m["bits"], int2) for m in matches]
        for m, k in zip(matches, kinds):
            found[m["layer"]] = k[1]
        name = init.name
        replaced.add(name)
        if w.ndim == 2 or len(set(kinds)) == 1:
            q = qs[0] if w.ndim == 2 else np.stack(qs)
            new_inits.append(_int_tensor(q, kinds[0][0], name + "__q"))
            scales = np.array([m["step"] for m in matches], np.float32)
            if w.ndim == 2:
                new_inits.append(numpy_helper.from_array(scales.reshape(()), name + "__scale"))
                nodes.append(
                    helper.make_node("DequantizeLinear", [name + "__q", name + "__scale"], [name], name=name + "__dq")
                )
            else:
                new_inits.append(numpy_helper.from_array(scales, name + "__scale"))
                nodes.append(
                    helper.make_node(
                        "DequantizeLinear", [name + "__q", name + "__scale"], [name], axis=0, name=name + "__dq"
                    )
                )
        else:  # the two directions of one LSTM at different storage types: one DequantizeLinear each
            parts = []
            for i, (q, m, k) in enumerate(zip(qs, matches, kinds)):
                part = f"{name}__{i}"
                new_inits.append(_int_tensor(q[None], k[0], part + "__q"))
                new_inits.append(numpy_helper.from_array(np.array(m["step"], np.float32), part + "__scale"))
                nodes.append(
                    helper.make_node("DequantizeLinear", [part + "__q", part + "__scale"], [part], name=part + "__dq")
                )
                parts.append(part)
            nodes.append(helper.make_node("Concat", parts, [name], axis=0, name=name + "__concat"))
    missing = [layer["layer"] for layer in layers if layer["layer"] not in found]
    if missing:
        raise ValueError(f"quantized layers not found among the exported weights: {', '.join(missing[:5])}")
    kept = [i for i in graph.initializer if i.name not in replaced]
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    rest = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + rest)
    opset = next(o for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if any(v in ("int4", "int16") for v in found.values()) and opset.version < QDQ_OPSET:
        opset.version = QDQ_OPSET
    if "int2" in found.values() and opset.version < INT2_OPSET:
        opset.version = INT2_OPSET
        model.ir_version = max(model.ir_version, 11)  # IR 11 is the first to name the 2-bit types
    if opset.version <= onnx.defs.onnx_opset_version():
        onnx.checker.check_model(model)
    onnx.save(model, path)
    return {"opset": opset.version, "storage": found, "initializers": len(replaced)}


def _integers(init) -> np.ndarray:
    """A stored integer initializer's values (int2/int4 unpacked; Debian's onnx 1.12 cannot read them)."""
    if init.data_type not in (INT2, INT4):
        return numpy_helper.to_array(init)
    n = int(np.prod(init.dims))
    return unpack(init.raw_data, 2 if init.data_type == INT2 else 4, n).reshape(tuple(init.dims))


def int8_lstm_variant(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same network with every LSTM computing in int8 (com.microsoft DynamicQuantizeLSTM, CPU only): its weights
    are the file's integers (every stored width up to 8 bits fits int8 exactly) with their per-direction steps, and
    its activations are quantized to 8 bits per run, so the output moves a little (the model card gives how much).
    A file for measuring the CPU's int8 dot products, not for the app: it runs on no other provider."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}

    def int_weight(name: str) -> tuple[np.ndarray, np.ndarray]:
        node = producer.get(name)
        if node is None or node.op_type not in ("DequantizeLinear", "Concat"):
            raise ValueError(f"LSTM weight {name} is not stored as integers (export with export_quantized.py)")
        if node.op_type == "Concat":  # the two directions at different widths
            parts = [int_weight(i) for i in node.input]
            return np.concatenate([q for q, _ in parts]), np.concatenate([s for _, s in parts])
        q = _integers(inits[node.input[0]])
        if q.min() < -128 or q.max() > 127:
            raise ValueError(f"LSTM weight {name} needs more than 8 bits")
        scale = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32).reshape(-1)
        return q.astype(np.int8), np.repeat(scale, q.shape[0]) if scale.size == 1 else scale

    nodes = []
    for node in graph.node:
        if node.op_type != "LSTM":
            nodes.append(node)
            continue
        inputs = list(node.input) + [""] * (8 - len(node.input))
        names = []
        for i, role in ((1, "W"), (2, "R")):
            q, scale = int_weight(inputs[i])
            base = f"{node.name}__{role}_int8"
            # DynamicQuantizeLSTM takes W [dirs, input, 4 * hidden], the transpose of LSTM's
            graph.initializer.extend(
                [
                    numpy_helper.from_array(np.ascontiguousarray(q.transpose(0, 2, 1)), base),
                    numpy_helper.from_array(scale, base + "_scale"),
                    numpy_helper.from_array(np.zeros(scale.size, np.int8), base + "_zero"),
                ]
            )
            names.append(base)
        q_node = helper.make_node(
            "DynamicQuantizeLSTM",
            [inputs[0], names[0], names[1], *inputs[3:8]]
            + [names[0] + "_scale", names[0] + "_zero", names[1] + "_scale", names[1] + "_zero"],
            list(node.output),
            name=node.name + "__int8",
            domain="com.microsoft",
        )
        q_node.attribute.extend(node.attribute)
        nodes.append(q_node)
    while True:  # drop what fed only the float LSTMs
        used = {i for n in nodes for i in n.input} | {o.name for o in graph.output}
        live = [n for n in nodes if any(o in used for o in n.output)]
        if len(live) == len(nodes):
            break
        nodes = live
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in nodes for i in n.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model
