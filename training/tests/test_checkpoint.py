import torch

from xumx import checkpoint
from xumx.model import XUMX


def test_weights_only_parts_join_back_to_the_same_model(tmp_path):
    model = XUMX(hidden=8)
    full = {"model": model.state_dict(), "config": model.config(), "optimizer": {"big": torch.zeros(10)},
            "step": 7, "elapsed_s": 1.0}
    slim = tmp_path / "slim.pt"
    torch.save(checkpoint.weights_only(full), slim)
    parts = checkpoint.split(str(slim), str(tmp_path / "ck"), part_bytes=100_000)
    assert len(parts) > 1
    back = checkpoint.load(checkpoint.join(str(tmp_path / "ck"), str(tmp_path / "joined.pt")))
    assert "optimizer" not in back and back["step"] == 7
    restored = checkpoint.model_from(back)
    x = torch.rand(1, 2, 2049, 3)
    assert torch.equal(restored(x), model.eval()(x))
