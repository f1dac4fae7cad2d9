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
