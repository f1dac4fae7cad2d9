"""X-UMX's losses: Multi-Domain Loss (frequency MSE + weighted SDR in time) over the Combination Loss's 14 sets."""
from __future__ import annotations

from itertools import combinations

import torch

from .transforms import magnitude_to_audio

MIX_COEFFICIENT = 10.0  # weight of the time-domain term, as in the paper


def source_combinations(n_sources: int = 4) -> list[tuple[int, ...]]:
    """Every non-empty proper subset of the sources: 4 + 6 + 4 = 14 for four sources."""
    return [c for k in range(1, n_sources) for c in combinations(range(n_sources), k)]


def weighted_sdr(est: torch.Tensor, target: torch.Tensor, mix: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Weighted SDR loss (Choi et al.), in [-1, 1]; lower is better. Tensors [..., samples]; returns one value per
    signal ([...])."""

    def neg_cos(a, b):
        return -(a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1) + eps)

    noise, est_noise = mix - target, mix - est
    alpha = target.pow(2).sum(-1) / (target.pow(2).sum(-1) + noise.pow(2).sum(-1) + eps)
    return alpha * neg_cos(target, est) + (1 - alpha) * neg_cos(noise, est_noise)


def observable(combos, known: torch.Tensor) -> torch.Tensor:
    """known [S, B] (bool: stems known one by one) -> [len(combos), B] float: 1 where the combination's sum is known,
    that is all its sources are known or all the others are (the mixture minus known stems)."""
    out = []
    for c in combos:
        rest = [i for i in range(known.shape[0]) if i not in c]
        out.append(known[list(c)].all(0) | known[rest].all(0))
    return torch.stack(out).float()


def combination_sums(x: torch.Tensor, combos) -> torch.Tensor:
    """x [S, ...] -> [len(combos), ...], each the sum of the sources in one combination.

    One matrix product with the 0/1 membership matrix: indexing with each combination's list instead cost 28
    index_put calls in the backward pass, a tenth of a CPU training step (torch.autograd.profiler, hidden 240).
    """
    member = torch.zeros(len(combos), x.shape[0], dtype=x.dtype, device=x.device)
    for i, c in enumerate(combos):
        member[i, list(c)] = 1
    return (member @ x.reshape(x.shape[0], -1)).reshape(len(combos), *x.shape[1:])


def band_weights(n_bins: int, rate: int, lo_hz: float, hi_hz: float, weight: float) -> torch.Tensor:
    """[n_bins] weights for multi_domain_loss: `weight` for the bins from lo_hz up to hi_hz, 1 elsewhere."""
    hz = torch.arange(n_bins, dtype=torch.float32) * (rate / 2) / (n_bins - 1)
    return torch.where((hz >= lo_hz) & (hz < hi_hz), torch.tensor(float(weight)), torch.tensor(1.0))


def multi_domain_loss(
    est_mag: torch.Tensor,
    target_mag: torch.Tensor,
    target_audio: torch.Tensor,
    mix_spec: torch.Tensor,
    mix_audio: torch.Tensor,
    combos=None,
    mix_coefficient: float = MIX_COEFFICIENT,
    known: torch.Tensor | None = None,
    bin_weight: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict]:
    """Combination Loss of the Multi-Domain Loss.

    est_mag, target_mag [S, B, 2, F, T]; target_audio [S, B, 2, N]; mix_spec complex [B, 2, F, T]; mix_audio [B, 2, N];
    known [S, B] (optional): which stems are known one by one. A mixture whose stems are only partly known (a karaoke
    track: vocals, and the rest as one sum) counts only the combinations whose sums it knows.
    bin_weight [F] (optional): each frequency bin's weight in the frequency-domain MSE (default 1 everywhere).
    """
    combos = combos or source_combinations(est_mag.shape[0])
    weight = (
        observable(combos, known)
        if known is not None
        else torch.ones(len(combos), est_mag.shape[1], device=est_mag.device)
    )  # [C, B]
    weight = weight / weight.sum()
    freq_err = (combination_sums(est_mag, combos) - combination_sums(target_mag, combos)) ** 2
    if bin_weight is not None:
        freq_err = freq_err * bin_weight[:, None]
    freq = (freq_err.mean(dim=(2, 3, 4)) * weight).sum()
    est_audio = magnitude_to_audio(est_mag, mix_spec, mix_audio.shape[-1])
    time = weighted_sdr(
        combination_sums(est_audio, combos), combination_sums(target_audio, combos), mix_audio.unsqueeze(0)
    )  # [C, B, 2]
    time = (time.mean(-1) * weight).sum()
    return freq + mix_coefficient * time, {"freq": float(freq.detach()), "time": float(time.detach())}
