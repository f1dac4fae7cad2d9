import torch

from xumx.losses import multi_domain_loss, source_combinations, weighted_sdr
from xumx.transforms import stft


def test_combination_loss_covers_the_fourteen_proper_subsets_of_four_sources():
    combos = source_combinations(4)
    assert len(combos) == 14
    assert len(set(combos)) == 14
    assert all(0 < len(c) < 4 for c in combos)


def test_weighted_sdr_is_minus_one_for_a_perfect_estimate_and_higher_otherwise():
    g = torch.Generator().manual_seed(0)
    target, other = torch.randn(2, 4000, generator=g), torch.randn(2, 4000, generator=g)
    mix = target + other
    perfect = float(weighted_sdr(target, target, mix))
    assert abs(perfect + 1) < 1e-5
    assert float(weighted_sdr(mix / 2, target, mix)) > perfect + 0.1


def test_multi_domain_loss_is_lowest_for_the_true_stems():
    g = torch.Generator().manual_seed(1)
    stems = torch.randn(4, 1, 2, 8192, generator=g) * 0.1
    mix = stems.sum(0)
    mix_spec = stft(mix)
    target_mag = stft(stems).abs()
    right, _ = multi_domain_loss(target_mag, target_mag, stems, mix_spec, mix)
    wrong, _ = multi_domain_loss(target_mag.flip(0), target_mag, stems, mix_spec, mix)
    assert float(right) < float(wrong)


def test_combination_sums_add_exactly_the_sources_of_each_combination():
    from xumx.losses import combination_sums
    g = torch.Generator().manual_seed(2)
    x = torch.randn(4, 2, 3, 5, generator=g, requires_grad=True)
    combos = source_combinations(4)
    sums = combination_sums(x, combos)
    assert sums.shape == (14, 2, 3, 5)
    for i, c in enumerate(combos):
        assert torch.allclose(sums[i], x[list(c)].sum(0), atol=1e-6)
    sums.sum().backward()
    # each source is in 7 of the 14 proper subsets of four
    assert torch.allclose(x.grad, torch.full_like(x, 7.0))
