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


def test_averaging_checkpoints_gives_the_mean_weights_and_the_last_ones_progress(tmp_path):
    a, b = XUMX(hidden=8), XUMX(hidden=8)
    for m, value in ((a, 1.0), (b, 3.0)):
        for p in m.parameters():
            torch.nn.init.constant_(p, value)
    ck = [{"model": m.state_dict(), "config": m.config(), "optimizer": {}, "step": s} for m, s in ((a, 10), (b, 20))]
    mean = checkpoint.average(ck)
    assert mean["step"] == 20 and mean["averaged_steps"] == [10, 20] and "optimizer" not in mean
    for name, value in mean["model"].items():
        if value.is_floating_point() and name in dict(a.named_parameters()):
            assert torch.allclose(value, torch.full_like(value, 2.0)), name
    assert checkpoint.model_from(mean) is not None
