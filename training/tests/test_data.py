import json
import os
import shutil
import struct

import numpy as np
import pytest
import torch
from scipy.io import wavfile

from data import midi, mulaw, pack, render_synth
from data import wad as wad_file
from data.splits import synth_split
from xumx.packdata import MixSampler, Pack

needs_synth = pytest.mark.skipif(
    not (shutil.which("fluidsynth") and shutil.which("mma")), reason="needs fluidsynth and mma"
)


def test_midi_survives_a_write_and_parse_round_trip():
    song = midi.MidiFile(
        1,
        96,
        [
            [
                midi.Event(0, b"\xFF\x51\x03\x07\xA1\x20"),
                midi.Event(0, b"\xC1\x21"),
                midi.Event(10, b"\x91\x28\x64"),
                midi.Event(50, b"\x81\x28\x00"),
                midi.Event(60, b"\x99\x24\x70"),
            ]
        ],
    )
    back = midi.parse(midi.write(song))
    assert [(e.tick, e.data) for e in back.tracks[0]] == [(e.tick, e.data) for e in song.tracks[0]]
    assert midi.channel_programs(back) == {1: 0x21, 9: 0}


def test_stems_are_split_by_drum_channel_and_bass_programs():
    song = midi.MidiFile(
        1,
        96,
        [
            [
                midi.Event(0, b"\xC0\x00"),
                midi.Event(0, b"\xC1\x22"),
                midi.Event(1, b"\x90\x3C\x64"),
                midi.Event(1, b"\x91\x28\x64"),
                midi.Event(1, b"\x99\x24\x64"),
            ]
        ],
    )
    stems = midi.split_stems(song)
    assert sorted(stems) == ["bass", "drums", "other"]
    assert set(midi.channel_programs(stems["bass"])) == {1}
    assert set(midi.channel_programs(stems["drums"])) == {9}
    # a replacement timbre outside the bass range moves the channel to "other"
    assert sorted(midi.split_stems(song, {1: 0})) == ["drums", "other"]


@needs_synth
def test_a_song_renders_identically_for_the_same_seed(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        render_synth.render_one((str(out), 4242, "mma", None, 0.0))
    name = "mma-04242"
    files = sorted(f for f in os.listdir(a / name) if f.endswith(".wav"))
    assert files
    for f in files:
        x, y = pack.read_wav(str(a / name / f))[1], pack.read_wav(str(b / name / f))[1]
        # fluidsynth's float output repeats to within float rounding of its effects (about -150 dB)
        assert x.shape == y.shape and np.abs(x - y).max() <= 1e-6 * max(np.abs(x).max(), 1e-3)
    assert json.loads((a / name / "song.json").read_text()) == json.loads((b / name / "song.json").read_text())


def test_mulaw_keeps_audio_within_its_quantisation_error():
    x = np.sin(np.linspace(0, 300, 10000)).astype(np.float32) * 0.7
    y = mulaw.decode(mulaw.encode(x))
    snr = 10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2))
    assert snr > 30


def _fake_songs(root, count):
    rng = np.random.default_rng(0)
    names = [n for n in (f"mma-{i:05d}" for i in range(200)) if synth_split(n) == "train"][:count]
    for name in names:
        os.makedirs(root / name)
        for stem in ("bass", "drums", "other"):
            x = (rng.standard_normal((44100 * 4, 2)) * 3000).astype(np.int16)
            wavfile.write(root / name / f"{stem}.wav", 44100, x)
        (root / name / "song.json").write_text("{}")
    return names


def _fake_mir1k(root):
    """Three training-singer clips: left a low accompaniment tone, right a higher "voice" tone, both below 8 kHz."""
    os.makedirs(root)
    rng = np.random.default_rng(3)
    t = np.arange(16000 * 3) / 16000
    for i in range(3):
        acc = 0.3 * np.sin(2 * np.pi * (110 + 20 * i) * t)
        voc = 0.3 * np.sin(2 * np.pi * (880 + 40 * i) * t) + 0.01 * rng.standard_normal(t.size)
        wavfile.write(root / f"amy_{i}_01.wav", 16000, (np.stack([acc, voc], 1) * 32767).astype(np.int16))
    return root


def test_pack_sampler_gives_mixtures_that_are_the_sum_of_their_stems_and_repeat_for_a_seed(tmp_path):
    synth = tmp_path / "synth"
    _fake_songs(synth, 3)
    out = tmp_path / "pack"
    pack.main(["--synth", str(synth), "--out", str(out), "--seconds-per-song", "4"])
    sampler = MixSampler(Pack(str(out), "train"), seconds=1.0)
    mix1, stems1, known = sampler.batch(3, torch.Generator().manual_seed(5))
    mix2, stems2, _ = sampler.batch(3, torch.Generator().manual_seed(5))
    assert bool(known.all())
    assert mix1.shape == (3, 2, 44100) and stems1.shape == (4, 3, 2, 44100)
    assert torch.allclose(mix1, stems1.sum(0), atol=1e-6)
    assert torch.equal(mix1, mix2) and torch.equal(stems1, stems2)
    assert float(stems1[:3].abs().max()) > 0  # no vocals packed, but the synthetic stems are there


def test_band_limit_augmentation_cuts_every_stem_alike_and_keeps_the_mixture_their_sum(tmp_path):
    synth = tmp_path / "synth"
    _fake_songs(synth, 2)
    out = tmp_path / "pack"
    pack.main(["--synth", str(synth), "--out", str(out), "--seconds-per-song", "4"])
    sampler = MixSampler(Pack(str(out), "train"), seconds=1.0, p_lowpass=1.0)
    mix, stems, _ = sampler.batch(2, torch.Generator().manual_seed(1))
    spectrum = torch.fft.rfft(stems, dim=-1).abs()
    freqs = torch.fft.rfftfreq(stems.shape[-1], 1 / 44100)
    assert float(spectrum[..., freqs > 16100].max()) < 1e-3 * float(spectrum.max())
    assert torch.allclose(mix, stems.sum(0), atol=1e-5)


def test_karaoke_mixtures_keep_the_clip_together_and_know_only_the_vocals(tmp_path):
    synth = tmp_path / "synth"
    _fake_songs(synth, 2)
    mir = _fake_mir1k(tmp_path / "mir1k")
    sampler = MixSampler(
        Pack.from_renders(str(synth), str(mir), "train"), seconds=2.0, p_karaoke=1.0, p_no_vocals=0.0, p_silence=0.0
    )
    mix, stems, known = sampler.batch(4, torch.Generator().manual_seed(2))
    vocals, other = stems[2], stems[3]
    assert known.tolist() == [[False] * 4, [False] * 4, [True] * 4, [False] * 4]
    assert float(stems[:2].abs().max()) == 0  # bass and drums unknown: silent, the whole accompaniment is "other"
    assert torch.allclose(mix, stems.sum(0), atol=1e-5)
    freqs = torch.fft.rfftfreq(mix.shape[-1], 1 / 44100)
    matched = [(880 + 40 * i) / (110 + 20 * i) for i in range(3)]  # 8.0, 7.08, 6.4; any mismatch is >= 0.3 away
    for b in range(4):  # the karaoke track is the vocal clip's own (same clip, stretch and speed)
        acc_peak = float(freqs[torch.fft.rfft(other[b, 0]).abs().argmax()])
        voc_peak = float(freqs[torch.fft.rfft(vocals[b, 0]).abs().argmax()])
        assert min(abs(voc_peak / acc_peak - r) for r in matched) < 0.1
    spectrum = torch.fft.rfft(stems, dim=-1).abs()
    assert float(spectrum[..., freqs > 8100].max()) < 1e-3 * float(spectrum.max())


def test_the_pack_carries_each_clips_karaoke_track_and_refuses_to_outgrow_its_budget(tmp_path):
    synth = tmp_path / "synth"
    _fake_songs(synth, 2)
    mir = _fake_mir1k(tmp_path / "mir1k")
    out = tmp_path / "pack"
    args = ["--synth", str(synth), "--mir1k", str(mir), "--out", str(out), "--seconds-per-song", "4"]
    assert pack.main(args + ["--max-mib", "0.01"]) == 1
    assert sorted(os.listdir(tmp_path)) == ["mir1k", "synth"]  # nothing written, not even a staging folder
    assert pack.main(args) == 0
    loaded = Pack(str(out), "train")
    assert loaded.streams["karaoke"].shape == loaded.streams["vocals"].shape
    freqs = torch.fft.rfftfreq(16000 * 3 * 44100 // 16000, 1 / 44100)
    for i, (start, length) in enumerate(loaded.clip_bounds.tolist()):
        name = loaded.clips[i]["name"]
        k = int(name.split("_")[1])
        acc = loaded.streams["karaoke"][start : start + length]
        assert abs(float(freqs[torch.fft.rfft(acc).abs().argmax()]) - (110 + 20 * k)) < 1
    mix, stems, known = MixSampler(loaded, seconds=1.0, p_karaoke=1.0).batch(2, torch.Generator().manual_seed(0))
    assert not bool(known[0].any()) and bool(known[2].all())


def test_midi_lumps_come_out_of_a_wad_by_name(tmp_path):
    song = midi.write(midi.MidiFile(1, 96, [[midi.Event(0, b"\x99\x24\x64")]]))
    lumps = [(b"D_E1M1", song), (b"PLAYPAL", b"\x00" * 30), (b"D_INTRO", song[:-1] + song[-1:])]
    data, directory = bytearray(b"IWAD" + bytes(8)), b""
    for name, body in lumps:
        directory += struct.pack("<ii8s", len(data), len(body), name)
        data += body
    struct.pack_into("<4sii", data, 0, b"IWAD", len(lumps), len(data))
    wad = tmp_path / "test.wad"
    wad.write_bytes(bytes(data) + directory)
    found = wad_file.midi_lumps(str(wad))
    assert sorted(found) == ["D_E1M1", "D_INTRO"] and found["D_E1M1"] == song
    assert midi.parse(found["D_INTRO"]).division == 96
    name = render_synth.song_name("midi", 0, f"wad:{wad}:D_E1M1")
    assert name == "midi-test-d_e1m1"
    (tmp_path / "x.wad").write_bytes(b"JUNK" + bytes(8))
    with pytest.raises(ValueError, match="not a WAD"):
        wad_file.midi_lumps(str(tmp_path / "x.wad"))


def test_vocal_level_sets_the_vocals_against_the_rest_of_each_mixture_and_leaves_silence_silent(tmp_path):
    synth = tmp_path / "synth"
    _fake_songs(synth, 2)
    loaded = Pack.from_renders(str(synth), str(_fake_mir1k(tmp_path / "mir1k")), "train")
    quiet = dict(seconds=1.0, p_silence=0.0, speed=0.0)
    mix, stems, _ = MixSampler(loaded, p_no_vocals=0.0, vocal_level_db=(3.0, 3.0), **quiet).batch(
        6, torch.Generator().manual_seed(1)
    )
    ratio = 10 * torch.log10(stems[2].pow(2).mean((-1, -2)) / stems[[0, 1, 3]].sum(0).pow(2).mean((-1, -2)))
    assert float((ratio - 3.0).abs().max()) < 0.5
    assert torch.allclose(mix, stems.sum(0), atol=1e-5)
    _, stems, _ = MixSampler(loaded, p_no_vocals=1.0, vocal_level_db=(3.0, 3.0), **quiet).batch(
        6, torch.Generator().manual_seed(1)
    )
    assert float(stems[2].abs().max()) == 0
