"""8-bit mu-law: the compact audio code of the training pack (about 38 dB SNR, noise follows the signal level)."""
from __future__ import annotations

import numpy as np

MU = 255.0


def encode(x: np.ndarray) -> np.ndarray:
    """float in [-1, 1] -> uint8."""
    y = np.sign(x) * np.log1p(MU * np.abs(np.clip(x, -1, 1))) / np.log1p(MU)
    return np.round((y + 1) * 127.5).astype(np.uint8)


def decode(q: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [-1, 1]."""
    y = q.astype(np.float32) / 127.5 - 1.0
    return (np.sign(y) * np.expm1(np.abs(y) * np.log1p(MU)) / MU).astype(np.float32)
