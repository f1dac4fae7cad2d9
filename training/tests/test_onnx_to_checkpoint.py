import json

import export_onnx
import pytest
import torch
from onnx_to_checkpoint import recover

from xumx import checkpoint


@pytest.mark.parametrize("fp16", [False, True])
def test_a_checkpoint_rebuilt_from_the_exported_onnx_holds_the_exported_weights(tmp_path, fp16):
    argv = ["--out", str(tmp_path), "--id", "t", "--random-init", "--seed", "3", "--hidden", "16"]
    export_onnx.main(argv + (["--fp16-weights"] if fp16 else []))
    # the same seeded network export_onnx.py built
    torch.manual_seed(3)
    reference = export_onnx.XUMX(hidden=16)
    export_onnx.randomise(reference, 3)
    ref = reference.state_dict()

    back = recover(str(tmp_path / "model.onnx"), ["bass", "drums", "vocals", "other"])
    assert back["config"] == reference.config()
    assert set(back["model"]) == set(ref)
    for name, value in ref.items():
        if name.endswith("num_batches_tracked"):
            continue
        got = back["model"][name]
        # large ONNX initializers (an LSTM's tensors are concatenated first) are stored as float16
        assert torch.equal(got, value) or (fp16 and torch.equal(got, value.half().float())), name
    # and it computes what the exported network computes
    model = checkpoint.model_from(back)
    x = torch.rand(1, 2, 2049, 5)
    tol = 2e-2 if fp16 else 0.0
    assert torch.allclose(model(x), reference.eval()(x), rtol=tol, atol=tol)


def test_a_graph_with_a_wrong_source_count_is_refused(tmp_path):
    export_onnx.main(["--out", str(tmp_path), "--id", "t", "--random-init", "--seed", "0", "--hidden", "16"])
    with pytest.raises(ValueError, match="LSTM nodes"):
        recover(str(tmp_path / "model.onnx"), ["vocals", "accompaniment"])


@pytest.mark.parametrize("int2", [False, True])
def test_a_quantized_export_comes_back_as_the_float_weights_its_integers_stand_for(tmp_path, int2):
    import numpy as np

    import export_quantized

    out, ref = tmp_path / "q", tmp_path / "ref"
    argv = ["--out", str(out), "--id", "q", "--random-init", "--seed", "3", "--hidden", "16", "--bits", "4"]
    layer_bits = "fc1=8,_reverse=8,fc2=2" if int2 else "fc1=8,_reverse=8"
    argv += ["--layer-bits", layer_bits, "--reference-io", str(ref)] + (["--int2"] if int2 else [])
    assert export_quantized.main(argv) == 0
    model = checkpoint.model_from(recover(str(out / "model.onnx"), ["bass", "drums", "vocals", "other"]))
    io = json.loads((ref / "io.json").read_text())
    x = torch.from_numpy(np.fromfile(ref / "input.f32", "<f4").reshape(io["input"]))
    want = torch.from_numpy(np.fromfile(ref / "output.f32", "<f4").reshape(io["output"]))
    with torch.no_grad():
        got = model.eval()(x)
    assert float((got - want).abs().max() / want.abs().max()) <= 1e-5
