"""Store an ONNX graph's large float32 initializers as float16, each followed by a Cast back to float32.

The network still computes in float32 (onnxruntime constant-folds Cast(initializer) when the session loads), but the
file is half the size. Small tensors stay float32: they cost nothing and keep normalisation statistics exact.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MIN_ELEMENTS = 1024


def store_initializers_as_fp16(path: str, min_elements: int = MIN_ELEMENTS) -> int:
    """Rewrite the model at `path` in place; returns how many initializers were converted."""
    model = onnx.load(path)
    graph = model.graph
    casts = []
    converted = 0
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or np.prod(init.dims, dtype=np.int64) < min_elements:
            continue
        array = numpy_helper.to_array(init).astype(np.float16)
        name = init.name
        init.CopyFrom(numpy_helper.from_array(array, name + "__fp16"))
        casts.append(helper.make_node("Cast", [name + "__fp16"], [name], to=TensorProto.FLOAT, name=name + "__to_fp32"))
        converted += 1
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset <= onnx.defs.onnx_opset_version():  # an older onnx package cannot check a newer opset
        onnx.checker.check_model(model)
    onnx.save(model, path)
    return converted
