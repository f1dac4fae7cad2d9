"""Tiny ONNX graphs that break the model contract in one way each, for the engine's error tests.

  /usr/bin/python3 make_onnx.py KIND OUT.onnx
  KIND: wrong-input-name  - input "x" instead of "mix_mag"
        wrong-bins        - input declared [batch, 2, 1025, frames]
        wrong-sources     - output declares 3 sources (the manifest will say 4)
        probe-shape       - shapes symbolic; the output has as many "sources" as the batch has chunks
"""
import sys

import onnx
from onnx import TensorProto, helper


def graph(kind: str) -> onnx.ModelProto:
    in_name = "x" if kind == "wrong-input-name" else "mix_mag"
    bins = 1025 if kind == "wrong-bins" else 2049
    inp = helper.make_tensor_value_info(in_name, TensorProto.FLOAT, ["batch", 2, bins, "frames"])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [0])
    nodes = [helper.make_node("Unsqueeze", [in_name, "axes"], ["one"])]
    if kind == "probe-shape":
        # Tile count taken from the input's batch size, so no shape inference can pin the source axis.
        out_shape = ["sources", "batch", 2, bins, "frames"]
        nodes += [
            helper.make_node("Shape", [in_name], ["shape"], start=0, end=1),
            helper.make_node("Concat", ["shape", "ones"], ["reps"], axis=0),
            helper.make_node("Tile", ["one", "reps"], ["est_mag"]),
        ]
    else:
        n = 3 if kind == "wrong-sources" else 4
        out_shape = [n, "batch", 2, bins, "frames"]
        reps = helper.make_tensor("reps", TensorProto.INT64, [5], [n, 1, 1, 1, 1])
        nodes.append(helper.make_node("Tile", ["one", "reps"], ["est_mag"]))
    out = helper.make_tensor_value_info("est_mag", TensorProto.FLOAT, out_shape)
    ones = helper.make_tensor("ones", TensorProto.INT64, [4], [1, 1, 1, 1])
    inits = [axes] + ([ones] if kind == "probe-shape" else [reps])
    g = helper.make_graph(nodes, kind, [inp], [out], initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


if __name__ == "__main__":
    onnx.save(graph(sys.argv[1]), sys.argv[2])
