"""WAV reading and resampling shared by the evaluation scripts (evaluate.py, data/realset.py): samples channels
first, as the model and the engine's stems hold them."""
from __future__ import annotations

import numpy as np
from scipy.signal import resample_poly

from data import pack


def read_wav(path: str) -> tuple[int, np.ndarray]:
    """-> (rate, [channels, n] float32): pack.read_wav's samples (16-bit or float WAV), channels first."""
    sr, x = pack.read_wav(path)
    return sr, x.T if x.ndim == 2 else x[None]


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """x resampled along its last axis from src to dst Hz (polyphase), float32."""
    if src == dst:
        return x.astype(np.float32)
    g = np.gcd(src, dst)
    return resample_poly(x, dst // g, src // g, axis=-1).astype(np.float32)
