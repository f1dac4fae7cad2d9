import torch

from xumx.model import MAX_BIN, N_BINS, SOURCES, XUMX, count_parameters


def test_output_has_the_engine_contract_shape_and_is_non_negative():
    model = XUMX(hidden=16).eval()
    mix = torch.rand(3, 2, N_BINS, 7)
    est = model(mix)
    assert est.shape == (len(SOURCES), 3, 2, N_BINS, 7)
    assert bool((est >= 0).all())


def test_estimates_are_masks_of_the_mixture():
    model = XUMX(hidden=16).eval()
    mix = torch.rand(1, 2, N_BINS, 5)
    mix[..., 100, :] = 0
    assert float(model(mix)[..., 100, :].abs().max()) == 0.0


def test_full_size_parameter_count_follows_the_reference_layout():
    hidden, ch, layers = 512, 2, 3
    h = hidden // 2
    lstm = sum(2 * (4 * h * (hidden if i == 0 else 2 * h) + 4 * h * h + 8 * h) for i in range(layers))
    per_source = (
        2 * MAX_BIN  # input mean, scale
        + ch * MAX_BIN * hidden
        + 2 * hidden  # fc1 (no bias) + bn1
        + lstm
        + 2 * hidden * hidden
        + 2 * hidden  # fc2 + bn2
        + hidden * ch * N_BINS
        + 2 * ch * N_BINS  # fc3 + bn3
        + 2 * N_BINS
    )  # output scale, mean
    assert count_parameters(XUMX(hidden=hidden)) == 4 * per_source


def test_input_normalisation_is_added_then_multiplied_like_the_reference():
    model = XUMX(hidden=16)
    mean, std = torch.full((N_BINS,), 2.0), torch.full((N_BINS,), 4.0)
    model.set_input_stats(mean, std)
    branch = model.branches["vocals"]
    x = torch.full((1, 1, 2, MAX_BIN), 6.0)
    assert torch.allclose((x + branch.input_mean) * branch.input_scale, torch.ones_like(x))
