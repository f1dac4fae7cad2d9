"""evaluate.py's per-band vocal check and quiet-vocal synthetic set."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from evaluate import BandTally  # noqa: E402


def lowpass(x: np.ndarray, rate: int, cutoff: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(x.size, 1 / rate) >= cutoff] = 0
    return np.fft.irfft(spec, x.size)


def test_band_tally_finds_the_band_an_estimate_lost():
    rate = 16000
    ref = np.random.default_rng(0).standard_normal(rate * 2)
    tally = BandTally(rate)
    tally.add(ref, lowpass(ref, rate, 4000))  # everything above 4 kHz lost
    by_band = {tuple(b["band_hz"]): b for b in tally.result()}
    for band in ((0, 500), (500, 1000), (1000, 2000)):
        assert by_band[band]["sdr"] > 30 and abs(by_band[band]["energy_db"]) < 0.1
    lost = by_band[(4000, 8000)]
    assert abs(lost["sdr"]) < 0.1 and lost["energy_db"] < -20  # the window leaks a little across the 4 kHz edge


def test_band_tally_sums_clips_before_the_ratio():
    rate = 16000
    rng = np.random.default_rng(1)
    loud, quiet = rng.standard_normal(rate), 0.01 * rng.standard_normal(rate)
    tally = BandTally(rate)
    tally.add(loud, loud * 0.5)  # error energy 0.25 of the signal: 6 dB
    tally.add(quiet, np.zeros_like(quiet))  # 0 dB alone, but 1e-4 of the energy
    for band in tally.result():
        assert abs(band["sdr"] - 6.02) < 0.05
