"""evaluate_engine.py runs the app's own engine; --segments sets its chunk plan, --strength its controls."""
import os
import sys
import tempfile
from types import SimpleNamespace

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import evaluate_engine  # noqa: E402


def run(segments, mix, strength=None):
    args = SimpleNamespace(models_dir=None, model=None, wiener_iterations=1, segments=segments, strength=strength)
    with tempfile.TemporaryDirectory() as work:
        return evaluate_engine.separate_all({"song": mix}, args, os.path.join(work, "run"))["song"]


def test_segments_change_how_the_engine_chunks_a_song():
    rate = 44100
    t = np.arange(rate * 2) / rate
    rng = np.random.default_rng(3)
    mix = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.3 * np.sin(2 * np.pi * 330 * t)])
    mix = (mix + 0.05 * rng.standard_normal(mix.shape)).astype(np.float32)
    whole = run(None, mix)  # 2 s is one chunk of the default 256 frames
    chunked = run("16,4,2", mix)  # several chunks of 16 frames, each with its own context
    assert whole.shape == chunked.shape == (4, 2, mix.shape[1])
    assert np.allclose(whole.sum(0), chunked.sum(0), atol=0.05)  # both still split the same mixture
    assert np.abs(whole - chunked).max() > 1e-3


def test_strength_reaches_the_engine():
    rate = 44100
    t = np.arange(rate) / rate
    mix = np.stack([0.3 * np.sin(2 * np.pi * 220 * t)] * 2).astype(np.float32)
    mix += 0.05 * np.random.default_rng(4).standard_normal(mix.shape).astype(np.float32)
    plain, strict = run(None, mix), run(None, mix, strength="vocals=3")
    vocals = 2
    assert np.sum(strict[vocals] ** 2) < 0.9 * np.sum(plain[vocals] ** 2)  # a stricter vocal stem keeps less


def test_malformed_segments_are_refused():
    with pytest.raises(SystemExit):
        evaluate_engine.main(["--segments", "64,8"])


def test_the_command_starts_from_the_models_controls_unless_told_neutral():
    base = dict(models_dir=None, model=None, strength=None, bleed=None)
    plain = evaluate_engine.cli_command("in", "out", SimpleNamespace(**base, wiener_iterations=None))
    assert "--neutral" not in plain and "--wiener-iterations" not in plain  # the model's recommendation stands
    neutral = evaluate_engine.cli_command(
        "in", "out", SimpleNamespace(**base, wiener_iterations=2, neutral=True, cache_dir="c")
    )
    assert "--neutral" in neutral
    assert neutral[neutral.index("--wiener-iterations") + 1] == "2"
    assert neutral[neutral.index("--cache-dir") + 1] == os.path.abspath(os.path.join("c", "default"))


def test_each_chunk_plan_keeps_its_own_estimates():
    # a song found in the cache is re-rendered with the plan it was separated with: one folder per plan
    base = dict(models_dir=None, model=None, strength=None, bleed=None, wiener_iterations=None, cache_dir="c")
    plain = evaluate_engine.cache_folder(SimpleNamespace(**base))
    webgpu = evaluate_engine.cache_folder(SimpleNamespace(**base, segments="64,8,32"))
    assert plain != webgpu and os.path.isabs(webgpu) and webgpu.endswith("segments-64-8-32")
