"""STFT/ISTFT with X-UMX's settings (n_fft 4096, hop 1024, Hann, centred, reflect padding), differentiable."""
from __future__ import annotations

import torch

from .model import HOP, N_FFT

_windows: dict[tuple, torch.Tensor] = {}


def _window(device, dtype) -> torch.Tensor:
    key = (str(device), dtype)
    if key not in _windows:
        _windows[key] = torch.hann_window(N_FFT, device=device, dtype=dtype)
    return _windows[key]


def stft(audio: torch.Tensor) -> torch.Tensor:
    """[..., samples] float -> complex [..., 2049, frames]."""
    shape = audio.shape
    spec = torch.stft(
        audio.reshape(-1, shape[-1]),
        N_FFT,
        HOP,
        window=_window(audio.device, audio.dtype),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def istft(spec: torch.Tensor, length: int) -> torch.Tensor:
    """complex [..., 2049, frames] -> [..., length]."""
    shape = spec.shape
    audio = torch.istft(
        spec.reshape(-1, *shape[-2:]),
        N_FFT,
        HOP,
        window=_window(spec.device, spec.real.dtype),
        center=True,
        length=length,
    )
    return audio.reshape(*shape[:-2], length)


def magnitude_to_audio(est_mag: torch.Tensor, mix_spec: torch.Tensor, length: int) -> torch.Tensor:
    """Estimated magnitudes with the mixture's phase -> audio. est_mag [S, B, 2, F, T], mix_spec [B, 2, F, T]."""
    phase = mix_spec / mix_spec.abs().clamp_min(1e-8)
    return istft(est_mag * phase.unsqueeze(0), length)
