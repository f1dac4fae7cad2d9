import torch

from train import step_loss
from xumx.losses import source_combinations
from xumx.model import XUMX


def fixed_batch():
    g = torch.Generator().manual_seed(3)
    t = torch.arange(44100) / 44100
    stems = torch.stack(
        [
            torch.sin(2 * torch.pi * 55 * t) * 0.3,  # bass
            (torch.rand(44100, generator=g) - 0.5) * (t * 8 % 1 < 0.1),  # drums: noise bursts
            torch.sin(2 * torch.pi * 440 * t + 3 * torch.sin(2 * torch.pi * 5 * t)) * 0.2,  # a vibrato "voice"
            torch.sin(2 * torch.pi * 262 * t) * 0.2 + torch.sin(2 * torch.pi * 330 * t) * 0.2,  # chord
        ]
    )
    stems = torch.stack([stems, stems.roll(5000, -1)], 1)  # [4, B=2, n]
    stems = torch.stack([stems, stems * 0.8], 2)  # [4, 2, 2, n]
    return stems.sum(0), stems


def test_one_training_step_lowers_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    model = XUMX(hidden=8, dropout=0.0)
    mix, stems = fixed_batch()
    combos = source_combinations()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    import contextlib

    before, _ = step_loss(model, mix, stems, None, combos, contextlib.nullcontext)
    opt.zero_grad()
    before.backward()
    opt.step()
    after, _ = step_loss(model, mix, stems, None, combos, contextlib.nullcontext)
    assert float(after) < float(before)


def test_the_weight_average_follows_its_decay_and_copies_counters():
    from train import WeightAverage

    model = XUMX(hidden=8)
    for p in model.parameters():
        torch.nn.init.constant_(p, 0.0)
    avg = WeightAverage(model, decay=0.5)
    for value, counter in ((4.0, 1), (8.0, 2)):
        for p in model.parameters():
            torch.nn.init.constant_(p, value)
        model.branches["vocals"].bn1.num_batches_tracked.fill_(counter)
        avg.update(model)
    # 0 -> 0.5*0 + 0.5*4 = 2 -> 0.5*2 + 0.5*8 = 5
    weight = avg.state["branches.vocals.fc1.weight"]
    assert torch.allclose(weight, torch.full_like(weight, 5.0))
    assert int(avg.state["branches.vocals.bn1.num_batches_tracked"]) == 2
    assert float(model.branches["vocals"].fc1.weight[0, 0]) == 8.0  # the model itself is untouched


def one_step(model, frozen_norms) -> tuple[dict, dict]:
    """One Adam step on the fixed batch in train_mode; the state dicts before and after."""
    import contextlib
    from train import train_mode

    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    train_mode(model, frozen_norms)
    assert model.training and not any(m.training for m in frozen_norms)
    mix, stems = fixed_batch()
    loss, _ = step_loss(model, mix, stems, None, source_combinations(), contextlib.nullcontext)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return before, model.state_dict()


def test_training_only_the_vocal_decoder_leaves_everything_else_as_it_was():
    from train import freeze_all_but

    torch.manual_seed(0)
    model = XUMX(hidden=8)
    before, after = one_step(model, freeze_all_but(model, r"branches\.vocals\.(fc2|bn2|fc3|bn3|output)"))
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert "branches.vocals.fc3.weight" in changed and "branches.vocals.bn3.running_mean" in changed
    assert all(
        k.startswith("branches.vocals.") and any(f".{m}" in k for m in ("fc2", "bn2", "fc3", "bn3", "output"))
        for k in changed
    ), sorted(changed)


def test_frozen_batch_norm_statistics_stay_while_the_weights_train():
    torch.manual_seed(0)
    model = XUMX(hidden=8)
    from train import batch_norms

    before, after = one_step(model, batch_norms(model))
    assert all(torch.equal(before[k], after[k]) for k in before if "running_" in k or "num_batches" in k)
    assert not torch.equal(before["branches.bass.fc1.weight"], after["branches.bass.fc1.weight"])
    assert not torch.equal(before["branches.bass.bn1.weight"], after["branches.bass.bn1.weight"])
