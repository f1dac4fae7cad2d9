import random
import shutil

import numpy as np
import pytest
from scipy.io import wavfile

from data import drumkit, midi, render_synth
from data.splits import synth_split

needs_sox = pytest.mark.skipif(not shutil.which("sox"), reason="needs sox")
RATE = drumkit.SAMPLE_RATE


def test_kit_instruments_are_matched_to_gm_roles_by_name():
    names = {
        'Kick (Tama Superstar 22")': "kick",
        "BassDrum": "kick",
        "c3 - bass drum 1": "kick",
        "Pearl Side Stick": "stick",
        "Snare Rimshot": "snare",
        "Snare Roll": None,
        "Hand Clap": "clap",
        "Closed HH": "hat_closed",
        "Hi Hat Opened": "hat_open",
        "Sabian Hat Semi-Open": "hat_open",
        "VariBreaks Hat 1 Pd": "hat_pedal",
        "Sabian Hat Choke": None,
        "Floor Tom": "tom_low",
        "Pearl Tom 2": "tom_mid",
        'Tom High (Tama Superstar 12")': "tom_high",
        'Ride (Custom, Zagrebin 22")': "ride",
        "ride-cup": "ride_bell",
        "crash16inch": "crash",
        "Zildjian Splash Choke": None,
        "Cowbell": "cowbell",
        "Djembe1 Slap": None,
        "": None,
    }
    assert {n: drumkit.role_of(n) for n in names} == names


def make_kit(folder) -> drumkit.Kit:
    """A Hydrogen kit on disk: kick with a soft and a hard layer, snare, and closed/open hats in one mute group.
    Each sample is a constant (its own value) for 0.1 s, so the render shows which sample played where."""
    samples = {"kick_soft": 0.1, "kick_hard": 0.2, "snare": 0.3, "hat_closed": 0.4, "hat_open": 0.5}
    for name, value in samples.items():
        wavfile.write(str(folder / f"{name}.wav"), RATE, np.full(int(0.1 * RATE), value, np.float32))

    def instrument(i, name, layers, mute=-1):
        layer_xml = "".join(
            f"<layer><filename>{f}.wav</filename><min>{lo}</min><max>{hi}</max><gain>1</gain></layer>"
            for f, lo, hi in layers
        )
        return (
            f"<instrument><id>{i}</id><name>{name}</name><volume>1</volume><pan_L>1</pan_L><pan_R>1</pan_R>"
            f"<gain>1</gain><muteGroup>{mute}</muteGroup>{layer_xml}</instrument>"
        )

    xml = (
        '<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit"><name>Test kit</name>'
        "<license>CC0</license><instrumentList>"
        + instrument(0, "Kick", [("kick_soft", 0, 0.5), ("kick_hard", 0.5, 1)])
        + instrument(1, "Snare", [("snare", 0, 1)])
        + instrument(2, "Closed HH", [("hat_closed", 0, 1)], mute=0)
        + instrument(3, "Open HH", [("hat_open", 0, 1)], mute=0)
        + "</instrumentList></drumkit_info>"
    )
    (folder / "drumkit.xml").write_text(xml)
    return drumkit.load_hydrogen_kit(str(folder))


def drum_song() -> midi.MidiFile:
    """96 ticks per beat; 120 bpm for the first beat, then 60 bpm (a tempo change at tick 96)."""
    tempo = lambda us: midi.Event(0, b"\xFF\x51\x03" + us.to_bytes(3, "big"))  # noqa: E731
    ev = [
        tempo(500_000),
        midi.Event(96, b"\xFF\x51\x03" + (1_000_000).to_bytes(3, "big")),
        midi.Event(0, b"\x99\x24\x28"),  # t=0: kick, soft (velocity 40)
        midi.Event(48, b"\x99\x26\x64"),  # t=0.25 s: snare
        midi.Event(96, b"\x99\x2E\x7F"),  # t=0.5 s: open hat
        midi.Event(120, b"\x99\x2A\x64"),  # t=0.5 + 24/96 s = 0.75 s: closed hat chokes it (open hat lasts 0.1 s)
        midi.Event(144, b"\x99\x24\x7F"),  # t=1.0 s: kick, hard
        midi.Event(150, b"\x99\x51\x64"),
    ]  # an open triangle: no role, dropped
    return midi.MidiFile(1, 96, [sorted(ev, key=lambda e: e.tick)])


def test_note_times_follow_the_tempo_map():
    times = [(round(t, 6), n) for t, n, _ in drumkit.note_times(drum_song())]
    assert times == [(0.0, 36), (0.25, 38), (0.5, 46), (0.75, 42), (1.0, 36), (1.0625, 81)]


@needs_sox
def test_a_kit_plays_each_note_with_its_instrument_and_velocity_layer(tmp_path):
    kit = make_kit(tmp_path)
    assert kit.name == "Test kit" and kit.usable()
    out = drumkit.render(drum_song(), kit, random.Random(0))
    at = lambda s: round(float(out[int(s * RATE) + 100, 0]), 4)  # noqa: E731
    vel = lambda v: v / 127  # noqa: E731
    assert at(0.0) == round(0.1 * vel(40), 4)  # soft layer, scaled by velocity
    assert at(0.25) == round(0.3 * vel(100), 4)
    assert at(0.5) == round(0.5 * vel(127), 4)
    assert at(1.0) == round(0.2 * vel(127), 4)  # hard layer
    assert at(0.15) == 0.0 and at(0.65) == 0.0  # silence between hits
    assert out.shape == (int(1.1 * RATE), 2) and np.array_equal(out[:, 0], out[:, 1])
    again = drumkit.render(drum_song(), kit, random.Random(0))
    assert np.array_equal(out, again)


@needs_sox
def test_a_note_of_the_same_mute_group_chokes_the_ringing_one(tmp_path):
    kit = make_kit(tmp_path)
    song = midi.MidiFile(
        1,
        96,
        [
            [
                midi.Event(0, b"\xFF\x51\x03" + (500_000).to_bytes(3, "big")),
                midi.Event(0, b"\x99\x2E\x7F"),  # open hat at 0
                midi.Event(4, b"\x99\x2A\x64"),
            ]
        ],
    )  # closed hat 4/192 s = 20.8 ms later
    out = drumkit.render(song, kit, random.Random(0))[:, 0]
    closed_at = int(round(4 / 192 * RATE))
    fade = int(drumkit.FADE_S * RATE)
    hat_closed = 0.4 * 100 / 127
    # after the fade only the closed hat sounds; during it the open hat fades out under it
    assert np.allclose(out[closed_at + fade + 1 : closed_at + 4000], hat_closed, atol=1e-6)
    assert out[closed_at + fade // 2] > hat_closed + 0.1


def test_held_out_songs_keep_their_soundfont_drums(monkeypatch, tmp_path):
    fake = drumkit.Kit("fake", "CC0", {r: [drumkit.Instrument(r, r, [])] for r in drumkit.REQUIRED})
    monkeypatch.setattr(drumkit, "available_kits", lambda: (fake,))
    names = {
        split: [n for n in (f"mma-{i:05d}" for i in range(100000, 100200)) if synth_split(n) == split][:5]
        for split in ("train", "valid", "test")
    }
    for split, songs in names.items():
        for name in songs:
            kit, _ = render_synth.kit_choice(name, int(name[4:]), p_kit=1.0)
            assert (kit is fake) == (split == "train"), (name, split)
    # and the choice is the seed's: the same on every run
    picks = [render_synth.kit_choice(n, int(n[4:]), 0.5)[0] is fake for n in names["train"]]
    assert picks == [render_synth.kit_choice(n, int(n[4:]), 0.5)[0] is fake for n in names["train"]]


@pytest.mark.skipif(
    not (shutil.which("fluidsynth") and shutil.which("mma") and shutil.which("sox")),
    reason="needs fluidsynth, mma and sox",
)
def test_rerunning_with_kits_replaces_only_the_drum_stem(monkeypatch, tmp_path):
    from data import pack

    kit = make_kit(tmp_path)
    out = tmp_path / "synth"
    seed, name = 4242, "mma-04242"
    assert synth_split(name) == "train"
    render_synth.render_one((str(out), seed, "mma", None, 0.0))
    before = {f.name: pack.read_wav(str(f))[1] for f in (out / name).glob("*.wav")}
    assert "drums.wav" in before
    monkeypatch.setattr(drumkit, "available_kits", lambda: (kit,))
    render_synth.render_one((str(out), seed, "mma", None, 1.0))
    after = {f.name: pack.read_wav(str(f))[1] for f in (out / name).glob("*.wav")}
    assert set(after) == set(before)
    for f in before:
        assert np.array_equal(before[f], after[f]) == (f != "drums.wav"), f
    info = render_synth.json.loads((out / name / "song.json").read_text())
    assert info["stems"]["drums"] == "kit:Test kit" and info["drums"]["kit"] == "Test kit"
