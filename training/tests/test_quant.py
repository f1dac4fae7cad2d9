import math

import pytest
import torch

from xumx.model import N_BINS, XUMX
from xumx.quant import (
    PARAMETRIZATIONS,
    Bounds,
    QuantizedXUMX,
    WeightQuantizer,
    bits_for_integer_range,
    bitwidth_log,
    clamp_quantizers,
    clip_quantizer_grads,
    fit_step_mse,
    inferred_bits,
    memory_penalty,
    INT2_STORAGE_WIDTHS,
    storage_bits,
    summary,
    weight_memory_bits,
)


def weights(seed=0, shape=(40, 30), scale=0.05):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale


@pytest.mark.parametrize("parametrization", PARAMETRIZATIONS)
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_quantized_weights_are_the_stored_integers_times_the_step(parametrization, bits):
    q = WeightQuantizer(weights(), parametrization, bits)
    ints, d, b = q.integers()
    assert b == bits
    assert int(ints.abs().max()) <= 2 ** (bits - 1) - 1
    # bit for bit what DequantizeLinear computes from (int, float32 scale)
    assert torch.equal(ints.float() * torch.tensor(d, dtype=torch.float32), q().detach())
    # quantizing the quantized weights changes nothing
    again = WeightQuantizer(q().detach(), parametrization, bits)
    again.load_state_dict({**q.state_dict(), "weight": q().detach()})
    assert torch.equal(again().detach(), q().detach())


def test_round_to_nearest_error_is_at_most_half_a_step_inside_the_range():
    w = weights()
    q = WeightQuantizer(w, "d_qmax", 4)
    d, qmax, _ = q.step_range_bits()
    assert float(qmax) == pytest.approx(float(w.abs().max()), rel=1e-6)
    assert float((q().detach() - w).abs().max()) <= float(d) / 2 * (1 + 1e-5)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 7, 8, 15, 16, 100, 127, 128, 32767])
def test_inferred_bitwidth_matches_the_papers_formula(k):
    d = torch.tensor(0.013)
    qmax = d * k
    want = max(2, math.ceil(math.log2(k + 1) + 1))
    assert int(inferred_bits(d, qmax)) == want
    assert bits_for_integer_range(k) == want


@pytest.mark.parametrize("parametrization", ["b_d", "b_qmax"])
@pytest.mark.parametrize("bits", [2, 3, 5, 8])
def test_the_bitwidth_parametrizations_agree_with_the_inferred_bitwidth(parametrization, bits):
    q = WeightQuantizer(weights(1), parametrization, bits)
    d, qmax, b = q.step_range_bits()
    assert int(b) == bits
    assert int(inferred_bits(d, qmax)) == bits


def test_straight_through_gradients_reach_the_weights_step_and_range():
    w = weights(2)
    q = WeightQuantizer(w, "d_qmax", 3)
    with torch.no_grad():
        q.qmax.mul_(0.5)  # some weights fall outside the range
    g = torch.randn(w.shape, generator=torch.Generator().manual_seed(3))
    out = q()
    (out * g).sum().backward()
    d, qmax = float(q.d), float(q.qmax)
    inside = w.abs() <= qmax
    assert 0 < int(inside.sum()) < w.numel()
    # the weight sees the identity inside the range and nothing outside
    assert torch.allclose(q.weight.grad, g * inside)
    # dQ/dd = (Q - clip(w)) / d, dQ/dqmax = sign(w) outside the range only
    clipped = w.clamp(-qmax, qmax)
    assert float(q.d.grad) == pytest.approx(float((g * (out.detach() - clipped) / d).sum()), rel=1e-4, abs=1e-6)
    assert float(q.qmax.grad) == pytest.approx(float((g * torch.sign(w) * ~inside).sum()), rel=1e-4, abs=1e-6)


def test_bitwidth_parametrizations_pass_gradients_to_the_bitwidth():
    w = weights(4)
    q = WeightQuantizer(w, "b_d", 3)
    with torch.no_grad():
        q.d.mul_(0.25)  # clip some weights so the range, hence b, matters
    q().pow(2).sum().backward()
    assert float(q.b.grad) != 0.0


def test_quantizer_gradients_are_clipped_to_the_step_and_parameters_kept_in_their_box():
    model = QuantizedXUMX(XUMX(hidden=16), "d_qmax", 4)
    model(torch.rand(1, 2, N_BINS, 4) * 5).pow(2).sum().backward()
    for q in model.quantizers.values():
        q.d.grad.mul_(1e6)
        q.qmax.grad.mul_(1e6)
    clip_quantizer_grads(model)
    for q in model.quantizers.values():
        d = float(q.d)
        assert abs(float(q.d.grad)) <= d * (1 + 1e-6) and abs(float(q.qmax.grad)) <= d * (1 + 1e-6)
    first = next(iter(model.quantizers.values()))
    with torch.no_grad():
        first.d.fill_(0.5)
        first.qmax.fill_(0.1)
    clamp_quantizers(model)
    assert float(first.d) <= float(first.qmax)
    with torch.no_grad():
        first.d.fill_(1e-9)
        first.qmax.fill_(100.0)
    clamp_quantizers(model)
    assert float(first.d) == pytest.approx(Bounds().d_min) and float(first.qmax) == pytest.approx(Bounds().qmax_max)


def test_memory_penalty_is_zero_within_the_target_and_grows_above_it():
    model = QuantizedXUMX(XUMX(hidden=16), "d_qmax", 4)
    size = weight_memory_bits(model)
    elements = summary(model)["weight_elements"]
    assert float(size) == 4 * elements
    assert float(memory_penalty(size, target_bits=4 * elements)) == 0.0
    assert float(memory_penalty(size, target_bits=5 * elements)) == 0.0
    above = memory_penalty(size, target_bits=3 * elements)
    assert float(above) > 0.0
    assert float(memory_penalty(size, target_bits=2 * elements)) > float(above)
    above.backward()
    # smaller is cheaper: the penalty pushes every step up (fewer levels), never down
    assert all(float(q.d.grad) <= 0.0 for q in model.quantizers.values())
    assert any(float(q.d.grad) < 0.0 for q in model.quantizers.values())


def test_every_weight_matrix_is_quantized_and_nothing_else():
    float_model = XUMX(hidden=16)
    matrices = {n for n, p in float_model.named_parameters() if p.dim() >= 2}
    model = QuantizedXUMX(float_model, "d_qmax", 8)
    names = set(model.layer_names())
    want = {n.removeprefix("branches.").removesuffix(".weight") for n in matrices}
    assert names == want
    assert len(names) == 4 * (3 + 12)  # fc1, fc2, fc3 and 3 layers x 2 directions x (input, recurrent) per source
    left = [n for n, p in model.model.named_parameters()]
    assert left and all(p.dim() == 1 for p in model.model.parameters()), left
    assert summary(model)["weight_elements"] == sum(
        p.numel() for n, p in XUMX(hidden=16).named_parameters() if p.dim() >= 2
    )


def test_the_network_computes_with_every_quantized_matrix():
    torch.manual_seed(0)
    model = QuantizedXUMX(XUMX(hidden=16), "d_qmax", 8).eval()
    mix = torch.rand(1, 2, N_BINS, 3) * 3
    with torch.no_grad():
        ref = model(mix)
        assert torch.allclose(model.baked()(mix), ref, atol=1e-6)
        for name in model.layer_names():
            q = model.quantizer(name)
            keep = q.weight.clone()
            q.weight.mul_(-1)
            assert not torch.allclose(model(mix), ref), f"{name} does not reach the output"
            q.weight.copy_(keep)


def test_mse_fitted_ranges_beat_the_full_range_at_low_bitwidths():
    w = torch.cat([weights(5, (4000,), 0.02), torch.tensor([0.5, -0.4])])  # a heavy tail, like fc1 and fc3
    full = WeightQuantizer(w, "d_qmax", 4, init="max")
    fitted = WeightQuantizer(w, "d_qmax", 4, init="mse")
    assert fitted.bits() == 4
    assert float(((fitted() - w) ** 2).sum()) < 0.5 * float(((full() - w) ** 2).sum())
    assert fit_step_mse(w, 4) < float(full.d)


def test_bitwidth_log_lists_each_layer_with_its_bits():
    model = QuantizedXUMX(
        XUMX(hidden=16), "d_qmax", {n: (4 if "lstm" in n else 8) for n in QuantizedXUMX(XUMX(hidden=16)).layer_names()}
    )
    rows = bitwidth_log(model)
    assert {r["layer"]: r["bits"] for r in rows}["vocals.lstm.weight_hh_l2_reverse"] == 4
    assert {r["layer"]: r["bits"] for r in rows}["bass.fc3"] == 8
    s = summary(model)
    assert s["weight_bits"] == sum(r["bits"] * r["elements"] for r in rows)
    assert 4 < s["bits_per_weight"] < 8


def test_the_stored_size_counts_each_layer_at_the_integer_width_that_holds_it():
    assert storage_bits(torch.tensor([2.0, 3.0, 4.0, 5.0, 8.0, 9.0])).tolist() == [4, 4, 4, 8, 8, 16]
    names = QuantizedXUMX(XUMX(hidden=16)).layer_names()
    model = QuantizedXUMX(XUMX(hidden=16), "d_qmax", {n: (3 if "lstm" in n else 5) for n in names})
    rows = bitwidth_log(model)
    stored = sum((4 if r["bits"] <= 4 else 8) * r["elements"] for r in rows)
    assert float(weight_memory_bits(model, "storage")) == stored == summary(model)["storage_bits"]
    assert float(weight_memory_bits(model)) == summary(model)["weight_bits"] < stored


def test_with_int2_storage_a_two_bit_layer_costs_two_bits_and_the_rest_as_before():
    assert storage_bits(torch.tensor([2.0, 3.0, 5.0]), INT2_STORAGE_WIDTHS).tolist() == [2, 4, 8]
    names = QuantizedXUMX(XUMX(hidden=16)).layer_names()
    model = QuantizedXUMX(XUMX(hidden=16), "d_qmax", {n: (2 if "lstm" in n else 5) for n in names})
    rows = bitwidth_log(model)
    stored = sum((2 if r["bits"] <= 2 else 8) * r["elements"] for r in rows)
    assert (
        float(weight_memory_bits(model, "storage-int2"))
        == stored
        == summary(model, INT2_STORAGE_WIDTHS)["storage_bits"]
    )
    assert float(weight_memory_bits(model, "storage")) == summary(model)["storage_bits"] > stored


def test_a_penalty_on_the_stored_size_still_reaches_the_quantizers():
    model = QuantizedXUMX(XUMX(hidden=16), "d_qmax", 6)
    elements = summary(model)["weight_elements"]
    memory_penalty(weight_memory_bits(model, "storage"), target_bits=4 * elements).backward()
    assert all(float(q.d.grad) <= 0.0 for q in model.quantizers.values())
    assert any(float(q.d.grad) < 0.0 for q in model.quantizers.values())
