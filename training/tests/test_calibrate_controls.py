"""calibrate_controls.py: what it scores on the real-music set and how its search moves."""
import json
import shutil

import numpy as np
import pytest

import calibrate_controls as cal
from data import recorded
from data.realset import BandItem, KaraokeItem

RATE = 44100


def _items():
    rng = np.random.default_rng(1)
    n = RATE * 2
    voice = np.repeat(rng.standard_normal(n)[None], 2, 0).astype(np.float32) * 0.1
    guitar = rng.standard_normal((2, n)).astype(np.float32) * 0.1
    drums = rng.standard_normal((2, n)).astype(np.float32) * 0.1
    t = np.arange(32000) / 16000  # MIR-1K's 16 kHz; tones well under its Nyquist survive the trip to 44.1 kHz and back
    k = KaraokeItem(16000, vocals=(0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
                    accompaniment=(0.1 * np.sin(2 * np.pi * 110 * t)).astype(np.float32))  # fmt: skip
    return {"k-a": k, "b-a": BandItem(vocals=voice, band=guitar + drums, guitar=guitar)}, drums


def _estimates(items, drums, vocal_share):
    """Estimates [4, 2, n] (bass, drums, vocals, other) that give `vocal_share` of the singing to the vocals and the
    rest of it to "other"; everything else where it belongs."""
    k, b = items["k-a"], items["b-a"]
    kv = np.repeat(cal.resample(k.vocals, 16000, RATE)[None], 2, 0)
    ka = np.repeat(cal.resample(k.accompaniment, 16000, RATE)[None], 2, 0)
    zero = np.zeros_like(kv)
    est_k = np.stack([zero, ka, vocal_share * kv, (1 - vocal_share) * kv])
    est_b = np.stack([np.zeros_like(drums), drums, vocal_share * b.vocals, b.guitar + (1 - vocal_share) * b.vocals])
    return {"k-a": est_k, "b-a": est_b}


def test_the_truth_scores_high_and_every_projection_is_whole():
    items, drums = _items()
    s = cal.score(items, _estimates(items, drums, 1.0))
    assert s["karaoke"]["sdr"]["vocals"]["global_sdr"] > 30 and s["band"]["sdr"]["accompaniment"]["global_sdr"] > 60
    assert s["band"]["vocals_kept"] == 1.0 and s["band"]["vocals_in_other"] == pytest.approx(0.0, abs=0.02)
    assert s["band"]["guitar_in_other"] == pytest.approx(1.0, abs=0.02)
    assert s["band"]["guitar_in_vocals"] == pytest.approx(0.0, abs=0.02)
    assert "guitar_in_other" not in s["karaoke"]  # no guitar is known there


def test_a_timid_vocal_stem_is_measured_as_such():
    items, drums = _items()
    s = cal.score(items, _estimates(items, drums, 0.4))
    for kind in ("karaoke", "band"):
        assert s[kind]["vocals_kept"] == pytest.approx(0.4, abs=0.01)
        assert s[kind]["vocals_in_other"] == pytest.approx(0.6, abs=0.01)
    whole = cal.objective(cal.score(items, _estimates(items, drums, 1.0)))
    assert cal.objective(s) < whole


def test_controls_round_trip_through_the_search_point():
    c = {"strength": {"vocals": 0.7, "other": 1.5}, "bleed": {"other": 0.1}, "wiener_iterations": 2}
    assert cal.to_controls(cal.from_controls(c)) == c
    assert cal.to_controls(cal.NEUTRAL) == {}


def test_the_search_finds_the_best_values_one_control_at_a_time():
    def fake(controls):  # best at vocals strength 0.7, other bleed 0.1; Wiener iterations make no difference
        p = cal.from_controls(controls)
        obj = -abs(p[("vocals", "strength")] - 0.7) - abs(p[("other", "bleed")] - 0.1)
        return {"controls": controls, "objective": obj}

    best = cal.search(fake)
    assert best["controls"] == {"strength": {"vocals": 0.7}, "bleed": {"other": 0.1}}


@pytest.mark.skipif(not shutil.which("sox"), reason="needs sox")
def test_control_sets_are_scored_through_the_app_with_the_network_run_once(tmp_path, monkeypatch):
    from data import realset
    from test_realset import _fake_mir1k, _fake_song, _song_named

    _fake_song(tmp_path, _song_named("test"), 440, 82, seconds=12)
    monkeypatch.setattr(recorded, "SONG_GLOBS", [str(tmp_path / "pack" / "*" / "guitar.ogg")])
    monkeypatch.setattr(realset, "EXCERPT_S", 3.0)
    mir1k = _fake_mir1k(tmp_path, ("abjones",))
    out = tmp_path / "report.json"
    fuller = '{"strength": {"vocals": 0.5}}'
    args = ["--mir1k", mir1k, "--work", str(tmp_path / "work"), "--split", "test", "--out", str(out)]
    assert cal.main(args + ["--controls", "{}", "--controls", fuller]) == 0
    neutral, full = json.loads(out.read_text())["scored"]
    assert neutral["scores"]["band"]["items"] == len(realset.EXCERPTS_AT)
    assert neutral["scores"]["karaoke"]["items"] == 2
    assert full["scores"]["band"]["vocals_kept"] > neutral["scores"]["band"]["vocals_kept"]
    assert len(list((tmp_path / "work" / "estimates-test").glob("*"))) > 0  # the network's estimates were kept


def test_a_guard_keeps_the_search_from_a_value_it_refuses():
    def fake(controls):
        p = cal.from_controls(controls)
        return {"controls": controls, "objective": -abs(p[("vocals", "strength")] - 0.7)}

    def guard(controls):  # nothing fuller than 0.9 may pass
        return cal.from_controls(controls)[("vocals", "strength")] >= 0.9

    assert cal.search(fake, guard=guard)["controls"] == {"strength": {"vocals": 0.9}}
