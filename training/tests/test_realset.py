"""The real-music calibration set: which songs and singers each split takes, and how an item is put together."""
import os
import shutil
import subprocess

import numpy as np
import pytest
from scipy.io import wavfile

from data import realset, recorded
from data.splits import synth_split

needs_sox = pytest.mark.skipif(not shutil.which("sox"), reason="needs sox")


def _song_named(bucket):
    return next(s for s in (f"Song {i}" for i in range(200)) if synth_split(recorded.song_name(f"/x/{s}/g")) == bucket)


def _fake_song(root, song, guitar_hz, band_hz, seconds=120):
    d = root / "pack" / song
    os.makedirs(d)
    for part, hz in (("guitar", guitar_hz), ("song", band_hz)):
        cmd = ["sox", "-n", "-r", "44100", "-c", "2", str(d / f"{part}.ogg"), "synth", str(seconds), "sine", str(hz)]
        subprocess.run(cmd + ["vol", "0.4"], check=True)


def _fake_mir1k(root, singers):
    d = root / "mir1k"
    os.makedirs(d)
    rng = np.random.default_rng(0)
    for singer in singers:
        for k in range(2):
            clip = (rng.standard_normal((16000 * 4, 2)) * 3000).astype(np.int16)  # left accompaniment, right voice
            wavfile.write(d / f"{singer}_{k}_01.wav", 16000, clip)
    return str(d)


@pytest.fixture
def fake_sources(tmp_path, monkeypatch):
    songs = {b: _song_named(b) for b in ("train", "valid", "test")}
    for i, song in enumerate(songs.values()):
        _fake_song(tmp_path, song, 330 + 110 * i, 82)
    monkeypatch.setattr(recorded, "SONG_GLOBS", [str(tmp_path / "pack" / "*" / "guitar.ogg")])
    return songs, _fake_mir1k(tmp_path, ("tammy", "abjones", "amy"))


@needs_sox
def test_each_split_takes_its_own_singers_and_songs(tmp_path, fake_sources):
    songs, mir1k = fake_sources
    names = {s: set(realset.real_set(mir1k, s, str(tmp_path / "dec"))) for s in ("valid", "test")}
    short = {b: recorded.song_name(f"/x/{s}/g")[4:] for b, s in songs.items()}
    assert {n for n in names["valid"] if n.startswith("k-")} == {"k-tammy_0_01", "k-tammy_1_01"}
    assert {n for n in names["test"] if n.startswith("k-")} == {"k-abjones_0_01", "k-abjones_1_01"}
    # choosing sees the validation song and the songs whose guitars trained the network; reporting only test songs
    assert {n.rsplit("-", 1)[0] for n in names["valid"] if n.startswith("b-")} == {
        f"b-{short['valid']}",
        f"b-{short['train']}",
    }
    assert {n.rsplit("-", 1)[0] for n in names["test"] if n.startswith("b-")} == {f"b-{short['test']}"}
    assert not any("amy" in n for n in names["valid"] | names["test"])  # training singers are in neither


@needs_sox
def test_a_band_item_is_singing_with_rests_over_the_whole_band(tmp_path, fake_sources):
    _, mir1k = fake_sources
    items = realset.band_items(mir1k, "test", str(tmp_path / "dec"))
    assert len(items) == len(realset.EXCERPTS_AT)
    for name, it in items.items():
        n = int(realset.EXCERPT_S * realset.RATE)
        assert it.vocals.shape == it.band.shape == it.guitar.shape == (2, n)
        assert np.abs(it.mix()).max() <= realset.PEAK + 1e-6
        band_rms, voice_rms = np.sqrt(np.mean(it.band**2)), np.sqrt(np.mean(it.vocals**2))
        assert realset.VOICE_DB[0] - 0.01 <= 20 * np.log10(voice_rms / band_rms) <= realset.VOICE_DB[1] + 0.01
        assert np.abs(it.vocals[:, : int(realset.REST_S[0] * realset.RATE)]).max() == 0  # a rest before the voice
        # the band is the guitar plus the rest of the band: taking the guitar out leaves the 82 Hz tone alone
        rest = (it.band - it.guitar)[0]
        spectrum = np.abs(np.fft.rfft(rest[: realset.RATE]))
        assert abs(np.argmax(spectrum) - 82) <= 1
    again = realset.band_items(mir1k, "test", str(tmp_path / "dec"))
    assert all(np.array_equal(items[k].vocals, again[k].vocals) for k in items)  # the same set on every run


def test_an_unknown_split_is_refused():
    with pytest.raises(ValueError, match="no split"):
        realset.band_songs("train")


def test_missing_material_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(recorded, "SONG_GLOBS", [str(tmp_path / "none" / "*" / "guitar.ogg")])
    with pytest.raises(ValueError, match="no MIR-1K clips of the test singers"):
        realset.real_set(str(tmp_path / "absent"), "test", str(tmp_path / "dec"))
    mir1k = _fake_mir1k(tmp_path, ("abjones",))
    with pytest.raises(ValueError, match="fretsonfire-songs-muldjord"):
        realset.real_set(mir1k, "test", str(tmp_path / "dec"))


def test_every_singer_of_a_split_takes_turns_over_the_bands():
    clips = [f"/m/{s}_{k}_01.wav" for s in ("abjones", "ariel", "khair") for k in range(3)]
    order = [os.path.basename(c).split("_")[0] for c in realset.singers_in_turn(clips)]
    assert order == ["abjones", "ariel", "khair"] * 3
    assert realset.singers_in_turn(clips[:4]) == [clips[0], clips[3], clips[1], clips[2]]  # a singer left alone goes on
