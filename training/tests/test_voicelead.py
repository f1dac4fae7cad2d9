import os
import random

import numpy as np
import torch
from scipy.io import wavfile

from data import midi, pack, voicelead
from data.splits import synth_split
from xumx.packdata import MixSampler, Pack

from test_data import _fake_mir1k, _fake_songs


def _song_with_chords(division=96):
    """C major for two bars then A minor for two (4/4), with a tempo event and a drum hit that must be ignored."""
    bar = 4 * division
    ev = [midi.Event(0, b"\xFF\x51\x03\x07\xA1\x20"), midi.Event(0, b"\xC0\x00")]
    for i, chord in enumerate(([60, 64, 67], [57, 60, 64])):
        for p in chord:
            ev.append(midi.Event(2 * i * bar, bytes([0x90, p, 80])))
            ev.append(midi.Event(2 * (i + 1) * bar, bytes([0x80, p, 0])))
    ev.append(midi.Event(0, b"\x99\x24\x64"))
    return midi.MidiFile(1, division, [ev]), bar


def _notes(lead: midi.MidiFile):
    return [(e.tick, e.data[1]) for e in lead.tracks[1] if e.kind == 0x90 and e.data[2] > 0]


def test_the_voice_lead_sings_the_songs_chord_tones_in_one_voice_range_on_its_tempo_map():
    song, bar = _song_with_chords()
    program, lead = voicelead.choose(random.Random(3), song)
    assert program in [p for p, _ in voicelead.VOICE_PROGRAMS]
    assert lead.division == song.division
    assert [e.data for e in lead.tracks[0]] == [b"\xFF\x51\x03\x07\xA1\x20"]  # tempo kept, notes not
    assert midi.channel_programs(lead) == {0: program}
    notes = _notes(lead)
    assert len(notes) >= 4
    for tick, pitch in notes:
        chord = {0, 4, 7} if tick < 2 * bar else {9, 0, 4}
        assert tick < 4 * bar and pitch % 12 in chord
    pitches = [p for _, p in notes]
    assert max(pitches) - min(pitches) <= 17


def test_the_voice_lead_repeats_for_a_seed_and_changes_with_it():
    song, _ = _song_with_chords()
    a = voicelead.choose(random.Random(1), song)
    b = voicelead.choose(random.Random(1), song)
    assert a[0] == b[0] and midi.write(a[1]) == midi.write(b[1])
    others = {midi.write(voicelead.choose(random.Random(s), song)[1]) for s in range(2, 6)}
    assert midi.write(a[1]) not in others


def test_a_song_without_pitched_notes_gets_no_voice_lead():
    drums_only = midi.MidiFile(1, 96, [[midi.Event(0, b"\x99\x24\x64"), midi.Event(90, b"\x89\x24\x00")]])
    assert voicelead.melody(drums_only, random.Random(0), 52) is None


def _fake_voice_leads(root, names, hz=3000.0):
    t = np.arange(44100 * 4) / 44100
    for name in names:
        wavfile.write(root / name / "voicelead.wav", 44100, (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32))


def test_voice_leads_stand_in_for_the_vocals_but_never_in_karaoke_mixtures(tmp_path):
    synth = tmp_path / "synth"
    _fake_voice_leads(synth, _fake_songs(synth, 2))
    mir = _fake_mir1k(tmp_path / "mir1k")
    loaded = Pack.from_renders(str(synth), str(mir), "train")
    assert len(loaded.leads) == 2
    freqs = torch.fft.rfftfreq(44100, 1 / 44100)

    def vocal_peaks(sampler, seed):
        mix, stems, known = sampler.batch(6, torch.Generator().manual_seed(seed))
        assert torch.allclose(mix, stems.sum(0), atol=1e-5)
        return [float(freqs[torch.fft.rfft(stems[2, b, 0]).abs().argmax()]) for b in range(6)], known

    quiet = dict(seconds=1.0, p_no_vocals=0.0, p_silence=0.0, speed=0.0)
    peaks, known = vocal_peaks(MixSampler(loaded, p_voicelead=1.0, **quiet), 4)
    assert peaks == [3000.0] * 6 and bool(known.all())
    peaks, _ = vocal_peaks(MixSampler(loaded, p_voicelead=1.0, p_karaoke=1.0, **quiet), 4)
    assert all(880 <= p <= 960 for p in peaks)  # karaoke mixtures keep their own singer
    peaks, _ = vocal_peaks(MixSampler(loaded, **quiet), 4)
    assert all(880 <= p <= 960 for p in peaks)  # off by default


def test_the_pack_carries_training_voice_leads_only(tmp_path):
    synth = tmp_path / "synth"
    names = _fake_songs(synth, 2)
    valid = next(n for n in (f"mma-{i:05d}" for i in range(200)) if synth_split(n) == "valid")
    os.makedirs(synth / valid)
    for stem in ("bass", "drums", "other"):
        wavfile.write(synth / valid / f"{stem}.wav", 44100, np.zeros((44100 * 4, 2), np.float32))
    (synth / valid / "song.json").write_text("{}")
    _fake_voice_leads(synth, names + [valid])
    out = tmp_path / "pack"
    assert pack.main(["--synth", str(synth), "--out", str(out), "--voicelead-seconds", "3"]) == 0
    loaded = Pack(str(out), "train")
    assert sorted(e["name"] for e in loaded.leads) == sorted(names)
    assert loaded.streams["voicelead"].numel() == 2 * 3 * 44100
    assert Pack(str(out), "valid").leads == []
    mix, stems, _ = MixSampler(loaded, seconds=1.0, p_voicelead=1.0, p_no_vocals=0.0, p_silence=0.0, speed=0.0).batch(
        2, torch.Generator().manual_seed(0)
    )
    spectrum = torch.fft.rfft(stems[2, :, 0]).abs()
    assert float(torch.fft.rfftfreq(44100, 1 / 44100)[spectrum.argmax(-1)].min()) == 3000.0


def test_the_instrument_lead_plays_the_same_kind_of_line_on_a_lead_instrument_that_is_not_a_voice():
    song, _ = _song_with_chords()
    voices = {p for p, _ in voicelead.VOICE_PROGRAMS}
    leads = {p for p, _ in voicelead.INSTRUMENT_LEAD_PROGRAMS}
    assert not voices & leads
    chosen = set()
    for seed in range(12):
        program, lead = voicelead.choose(random.Random(seed), song, voicelead.INSTRUMENT_LEAD_PROGRAMS)
        assert program in leads and midi.channel_programs(lead) == {0: program} and len(_notes(lead)) >= 4
        chosen.add(program)
    assert len(chosen) >= 4


def test_instrument_leads_are_added_to_other_but_never_in_karaoke_mixtures(tmp_path):
    synth = tmp_path / "synth"
    names = _fake_songs(synth, 2)
    t = np.arange(44100 * 4) / 44100
    for name in names:
        wavfile.write(synth / name / "instrlead.wav", 44100, (0.2 * np.sin(2 * np.pi * 5000.0 * t)).astype(np.float32))
    loaded = Pack.from_renders(str(synth), str(_fake_mir1k(tmp_path / "mir1k")), "train")
    assert len(loaded.instr_leads) == 2 and len(loaded.leads) == 0
    freqs = torch.fft.rfftfreq(44100, 1 / 44100)

    def lead_in(sampler, source):
        mix, stems, _ = sampler.batch(6, torch.Generator().manual_seed(5))
        assert torch.allclose(mix, stems.sum(0), atol=1e-5)
        spectra = torch.fft.rfft(stems[source, :, 0]).abs()
        peak = [s[(freqs - 5000).abs() < 5].max() for s in spectra]
        # a line that stands out of the noise and of the stem's own strongest bin
        return [bool(p > 10 * s.median() and p > 0.1 * s.max()) for p, s in zip(peak, spectra)]

    quiet = dict(seconds=1.0, p_no_vocals=0.0, p_silence=0.0, speed=0.0)
    assert lead_in(MixSampler(loaded, p_instrlead=1.0, **quiet), 3) == [True] * 6  # in "other"
    assert lead_in(MixSampler(loaded, p_instrlead=1.0, **quiet), 2) == [False] * 6  # never in the vocals
    assert lead_in(MixSampler(loaded, p_instrlead=1.0, p_karaoke=1.0, **quiet), 3) == [False] * 6
    assert lead_in(MixSampler(loaded, **quiet), 3) == [False] * 6  # off by default
