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
    perfect = float(weighted_sdr(target, target, mix).mean())
    assert abs(perfect + 1) < 1e-5
    assert float(weighted_sdr(mix / 2, target, mix).mean()) > perfect + 0.1


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


def test_a_karaoke_mixture_is_scored_only_on_vocals_and_the_rest_as_one_sum():
    from xumx.losses import observable

    combos = source_combinations(4)
    known = torch.tensor([[False], [False], [True], [False]])  # bass, drums, vocals, other
    seen = [c for c, w in zip(combos, observable(combos, known)[:, 0].tolist()) if w]
    assert seen == [(2,), (0, 1, 3)]
    g = torch.Generator().manual_seed(3)
    stems = torch.randn(4, 1, 2, 8192, generator=g) * 0.1
    mix = stems.sum(0)
    mix_spec = stft(mix)
    # the karaoke view of the same mixture: the whole accompaniment in "other"
    karaoke = torch.stack([torch.zeros_like(mix), torch.zeros_like(mix), stems[2], stems[[0, 1, 3]].sum(0)])
    karaoke_mag = stft(karaoke).abs()
    exact, _ = multi_domain_loss(karaoke_mag, karaoke_mag, karaoke, mix_spec, mix, known=known)
    # splitting the accompaniment differently costs nothing in the time domain, where the sum is exact
    resplit = karaoke_mag.clone()
    resplit[0] = resplit[3] / 2
    resplit[3] = resplit[3] / 2
    _, parts = multi_domain_loss(resplit, karaoke_mag, karaoke, mix_spec, mix, known=known)
    _, exact_parts = multi_domain_loss(karaoke_mag, karaoke_mag, karaoke, mix_spec, mix, known=known)
    assert abs(parts["time"] - exact_parts["time"]) < 1e-5 and abs(parts["freq"]) < 1e-10
    # scored as if every stem were known, the same estimate is wrong
    _, all_known = multi_domain_loss(resplit, karaoke_mag, karaoke, mix_spec, mix)
    assert all_known["freq"] > 1e-6
    wrong_vocals = karaoke_mag.clone()
    wrong_vocals[2] = wrong_vocals[2] / 2
    worse, _ = multi_domain_loss(wrong_vocals, karaoke_mag, karaoke, mix_spec, mix, known=known)
    assert float(worse) > float(exact) + 0.01


def test_band_weight_scales_only_the_frequency_error_inside_the_band():
    from xumx.losses import band_weights

    w = band_weights(2049, 44100, 1000, 4000, 4.0)
    hz = torch.arange(2049) * 22050 / 2048
    assert bool((w[(hz >= 1000) & (hz < 4000)] == 4).all()) and bool((w[(hz < 1000) | (hz >= 4000)] == 1).all())

    g = torch.Generator().manual_seed(3)
    stems = torch.randn(4, 1, 2, 8192, generator=g) * 0.1
    mix = stems.sum(0)
    mix_spec, target_mag = stft(mix), stft(stems).abs()
    ones = torch.ones(2049)
    # an error in 1-4 kHz bins only: the weighted frequency loss is 4 times the plain one
    est = target_mag.clone()
    est[..., 200:300, :] += 0.05
    _, plain = multi_domain_loss(est, target_mag, stems, mix_spec, mix)
    _, same = multi_domain_loss(est, target_mag, stems, mix_spec, mix, bin_weight=ones)
    _, heavy = multi_domain_loss(est, target_mag, stems, mix_spec, mix, bin_weight=w)
    assert abs(same["freq"] - plain["freq"]) < 1e-9
    assert abs(heavy["freq"] - 4 * plain["freq"]) < 1e-6 * plain["freq"] + 1e-12
    assert heavy["time"] == plain["time"]
    # an error outside the band: unchanged
    est = target_mag.clone()
    est[..., 10:50, :] += 0.05
    _, plain = multi_domain_loss(est, target_mag, stems, mix_spec, mix)
    _, heavy = multi_domain_loss(est, target_mag, stems, mix_spec, mix, bin_weight=w)
    assert abs(heavy["freq"] - plain["freq"]) < 1e-6 * plain["freq"]
