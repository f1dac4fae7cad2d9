import torch

from xumx import checkpoint
from xumx.model import XUMX


def test_weights_only_parts_join_back_to_the_same_model(tmp_path):
    model = XUMX(hidden=8)
    full = {
        "model": model.state_dict(),
        "config": model.config(),
        "optimizer": {"big": torch.zeros(10)},
        "step": 7,
        "elapsed_s": 1.0,
    }
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


def test_recomputed_batch_norm_statistics_are_a_plain_average_and_leave_the_weights_alone():
    from recompute_bn import recompute

    g = torch.Generator().manual_seed(5)
    batches = [torch.randn(1, 2, 8192, generator=g) * s for s in (0.1, 1.0, 3.0)]
    model = XUMX(hidden=8)
    weights = {k: v.clone() for k, v in model.named_parameters()}
    recompute(model, batches)
    forward = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    model2 = XUMX(hidden=8)
    model2.load_state_dict({**model.state_dict()})
    recompute(model2, batches[::-1])
    for k, v in model2.state_dict().items():
        if "running" in k:  # a cumulative average does not depend on the order (a moving one would)
            assert torch.allclose(v, forward[k], rtol=1e-4, atol=1e-6), k
    assert any(not torch.allclose(v, torch.zeros_like(v)) for k, v in forward.items() if "running_mean" in k)
    for k, v in model.named_parameters():
        assert torch.equal(v, weights[k]), k
    assert not model.training
