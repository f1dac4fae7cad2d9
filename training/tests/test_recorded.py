import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from data import pack, recorded, render_synth
from data.splits import synth_split

needs_sox = pytest.mark.skipif(not shutil.which("sox"), reason="needs sox")


def _fake_fof(root, song, hz):
    """root/<pack>/<song>/{guitar,song}.ogg like a Frets on Fire song folder: a 2 s tone as the guitar."""
    d = root / "pack" / song
    os.makedirs(d)
    subprocess.run(
        ["sox", "-n", "-r", "44100", "-c", "2", str(d / "guitar.ogg"), "synth", "2", "sine", str(hz)], check=True
    )
    shutil.copy(d / "guitar.ogg", d / "song.ogg")
    return str(d / "guitar.ogg")


def _song_in(split):
    return next(s for s in (f"Song {i}" for i in range(100)) if synth_split(recorded.song_name(f"/x/{s}/g")) == split)


@needs_sox
def test_recorded_guitars_of_training_songs_become_other_stems_and_held_out_ones_are_left_out(tmp_path, monkeypatch):
    train, held = _song_in("train"), _song_in("test")
    _fake_fof(tmp_path, train, 330)
    _fake_fof(tmp_path, held, 550)
    monkeypatch.setattr(recorded, "SONG_GLOBS", [str(tmp_path / "pack" / "*" / "guitar.ogg")])
    out = tmp_path / "synth"
    monkeypatch.setattr(render_synth, "module_songs", lambda: [])
    monkeypatch.setattr(render_synth, "midi_songs", lambda: [])
    monkeypatch.setattr(render_synth, "wad_songs", lambda: [])
    assert render_synth.main(["--out", str(out), "--songs", "0", "--jobs", "1"]) == 0
    name = recorded.song_name(os.path.join("x", train, "guitar.ogg"))
    assert sorted(os.listdir(out)) == [name]
    assert sorted(os.listdir(out / name)) == ["other.wav", "song.json"]  # bass and drums silent
    assert json.loads((out / name / "song.json").read_text())["kind"] == "recorded"
    rate, x = pack.read_wav(str(out / name / "other.wav"))
    assert rate == 44100 and x.shape == (88200, 2)
    spectrum = np.abs(np.fft.rfft(x[:, 0]))
    assert abs(np.argmax(spectrum) * 44100 / x.shape[0] - 330) < 1


def test_recorded_songs_give_the_most_excerpts():
    assert pack.excerpts_of("fof-feelings") > pack.excerpts_of("midi-x") > pack.excerpts_of("mma-00001")
