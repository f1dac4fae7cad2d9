import json
import math
import os

import onnx
import pytest

import export_quantized
from xumx.onnx_quant import INT2, INT4

INT_BYTES = {INT2: 0.25, INT4: 0.5, onnx.TensorProto.INT8: 1, onnx.TensorProto.INT16: 2}


def export(tmp_path, name, *args):
    out = tmp_path / name
    assert (
        export_quantized.main(
            ["--out", str(out), "--id", name, "--random-init", "--seed", "0", "--hidden", "16", *args]
        )
        == 0
    )
    return out, json.loads((out / "manifest.json").read_text())


@pytest.mark.parametrize("bits", [4, 8, 12])
def test_the_file_holds_the_weights_at_their_bitwidths_storage(tmp_path, bits):
    out, manifest = export(tmp_path, f"q{bits}", "--bits", str(bits))
    model = onnx.load(str(out / "model.onnx"))
    ints = [t for t in model.graph.initializer if t.data_type in INT_BYTES]
    stored = {t.data_type for t in ints}
    assert stored == {INT4 if bits <= 4 else onnx.TensorProto.INT8 if bits <= 8 else onnx.TensorProto.INT16}
    elements = sum(math.prod(t.dims) for t in ints)
    assert elements == manifest["quantization"]["quantized_weights"]
    assert sum(len(t.raw_data) for t in ints) == sum(
        math.ceil(math.prod(t.dims) * INT_BYTES[t.data_type]) for t in ints
    )
    assert sum(1 for n in model.graph.node if n.op_type == "DequantizeLinear") == 4 * (
        3 + 3 * 2
    )  # per branch fc1..3, and W and R of 3 LSTM layers (both directions in one)
    assert not [
        t.name
        for t in model.graph.initializer
        if t.data_type == onnx.TensorProto.FLOAT
        and len(t.dims) >= 2
        and math.prod(t.dims) >= 1024
        and "LSTM" not in t.name
    ]
    assert manifest["size"] == os.path.getsize(out / "model.onnx")
    assert manifest["opset"] == (21 if bits != 8 else 17)


def test_fewer_bits_make_a_smaller_file(tmp_path):
    sizes = [export(tmp_path, f"s{b}", "--bits", str(b))[1]["size"] for b in (4, 8)]
    float_parts_fp16 = export(tmp_path, "s4h", "--bits", "4", "--fp16-float-parts")[1]
    assert sizes[0] < sizes[1]
    assert float_parts_fp16["size"] < sizes[0] and float_parts_fp16["float_parts_dtype"] == "float16"


def test_layer_bits_override_the_bitwidth_of_the_layers_named(tmp_path):
    _, manifest = export(tmp_path, "m", "--bits", "4", "--layer-bits", "fc1=8,fc3=6")
    bits = {row["layer"]: row["bits"] for row in manifest["quantization"]["layers"]}
    assert bits["drums.fc1"] == 8 and bits["drums.fc3"] == 6 and bits["drums.fc2"] == 4
    assert manifest["weights_dtype"] == "int4+int8"
    with pytest.raises(SystemExit):
        export(tmp_path, "bad", "--bits", "4", "--layer-bits", "conv9=8")


def test_int2_halves_the_two_bit_layers_and_leaves_the_rest(tmp_path):
    plain, plain_manifest = export(tmp_path, "p", "--bits", "4", "--layer-bits", "fc1=2,fc3=8")
    small, manifest = export(tmp_path, "i2", "--bits", "4", "--layer-bits", "fc1=2,fc3=8", "--int2")
    assert manifest["weights_dtype"] == "int2+int4+int8" and plain_manifest["weights_dtype"] == "int4+int8"
    assert manifest["opset"] == 25 and onnx.load(str(small / "model.onnx")).ir_version >= 11
    storage = {row["layer"]: row["storage"] for row in manifest["quantization"]["layers"]}
    assert storage["bass.fc1"] == "int2" and storage["bass.fc2"] == "int4" and storage["bass.fc3"] == "int8"
    fc1 = sum(row["elements"] for row in manifest["quantization"]["layers"] if row["layer"].endswith(".fc1"))
    saved = plain_manifest["size"] - manifest["size"]  # 4 bits -> 2 bits per fc1 weight, give or take the framing
    assert abs(saved - fc1 / 4) <= 16, (saved, fc1 / 4)
    ints = [t for t in onnx.load(str(small / "model.onnx")).graph.initializer if t.data_type == INT2]
    assert len(ints) == 4 and all(len(t.raw_data) == math.ceil(math.prod(t.dims) / 4) for t in ints)


def test_without_int2_no_file_holds_int2(tmp_path):
    _, manifest = export(tmp_path, "two", "--bits", "2")
    assert manifest["weights_dtype"] == "int4" and manifest["opset"] == 21


def test_the_int8_compute_variant_runs_every_lstm_on_the_files_own_integers(tmp_path):
    import numpy as np

    from xumx.onnx_quant import int8_lstm_variant

    out, _ = export(tmp_path, "v", "--bits", "4", "--layer-bits", "_reverse=8,fc1=2", "--int2")
    model = onnx.load(str(out / "model.onnx"))
    variant = int8_lstm_variant(model)
    ops = [n.op_type for n in variant.graph.node]
    assert "LSTM" not in ops and ops.count("DynamicQuantizeLSTM") == 12
    inits = {i.name: i for i in variant.graph.initializer}
    lstm = next(n for n in variant.graph.node if n.op_type == "DynamicQuantizeLSTM")
    w, scale = (inits[lstm.input[i]] for i in (1, 8))
    assert w.data_type == onnx.TensorProto.INT8 and list(scale.dims) == [2]  # one step per direction
    ints = np.abs(onnx.numpy_helper.to_array(w))
    assert ints[0].max() <= 7 < ints[1].max() <= 127  # forward 4-bit, reverse 8-bit integers, unchanged
    assert not [i.name for i in variant.graph.initializer if i.data_type == INT4 and "LSTM" in i.name]
    assert any(i.data_type == INT2 for i in variant.graph.initializer)  # the fc layers keep their storage
