"""Write the int8-compute variant of a quantized model file: its LSTMs as com.microsoft DynamicQuantizeLSTM with the
file's own integer weights (xumx/onnx_quant.py int8_lstm_variant), for timing the CPU's int8 dot products against
the app's float compute (the model card's "int8 compute" paragraph). The manifest beside IN is copied with the new
file's size and hash, so the folder can be separated and scored like any model (evaluate_engine.py).

  /usr/bin/python3 training/tools/int8_lstm_variant.py models/xumx-studio-small /tmp/q/small-int8-lstm
"""
from __future__ import annotations

import hashlib
import json
import os
import sys

import onnx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from xumx.onnx_quant import int8_lstm_variant  # noqa: E402


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = argv
    manifest = json.load(open(os.path.join(src, "manifest.json")))
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.onnx")
    onnx.save(int8_lstm_variant(onnx.load(os.path.join(src, manifest.get("file", "model.onnx")))), path)
    data = open(path, "rb").read()
    manifest.update(
        file="model.onnx",
        id=os.path.basename(os.path.normpath(out)),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        compute="int8 LSTMs (DynamicQuantizeLSTM), CPU only",
    )
    json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"), indent=1)
    print(json.dumps({"onnx": path, "size": len(data)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
