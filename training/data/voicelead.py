"""A sung-sounding lead for a training song: a melody written over the song's own harmony and tempo, played on a
General MIDI voice (Choir Aahs, Voice Oohs, Synth Voice, Lead 6 "voice").

MIR-1K, the only real singing here, stops at 8 kHz. A GM voice is not singing, but it is a sustained, vowel-like,
vibrato-carrying line that reaches up to the top of the spectrum, so the sampler can use it in place of a MIR-1K
clip for a share of the mixtures (augmentation only: the held-out vocals stay real singing).

The melody is made of phrases of 3-12 notes with rests between them, in a voice range of 12-17 semitones. Each
note is a pitch sounding in the accompaniment at its onset when there is one in range (otherwise a step from the
previous note), chosen with a preference for small steps, like a singer's line.
"""
from __future__ import annotations

import math
import random

from . import midi

# GM programs (0-based) with a voice timbre, and how often each is chosen
VOICE_PROGRAMS = [(52, 3), (53, 3), (54, 2), (85, 1)]
# GM programs of melodic lead instruments that are not voices (clarinet, alto and tenor sax, flute, oboe, trumpet,
# violin, square and saw leads, harmonica, overdriven and distorted guitar): the same kind of line on one of these
# belongs to "other". The network hears some of them as a singer (a clarinet line 12 dB over the vocals read as
# vocals); a training mixture with such a lead in "other" shows it the difference.
INSTRUMENT_LEAD_PROGRAMS = [
    (71, 2),
    (65, 2),
    (66, 1),
    (73, 2),
    (68, 1),
    (56, 1),
    (40, 2),
    (80, 1),
    (81, 1),
    (22, 1),
    (29, 2),
    (30, 2),
]
_NOTE_EIGHTHS = [(1, 2), (2, 4), (3, 2), (4, 3), (6, 1), (8, 1)]  # note lengths in eighth notes, weighted
_REST_EIGHTHS = [2, 4, 4, 6, 8, 12]
_META_KEEP = (0x51, 0x58, 0x59)  # tempo, time signature, key signature


def _weighted(rng: random.Random, items):
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


def accompaniment_notes(song: midi.MidiFile) -> list[tuple[int, int, int]]:
    """(start tick, end tick, pitch) of every pitched note (drum channel left out), in start order."""
    notes, open_at = [], {}
    for events in song.tracks:
        for ev in sorted(events, key=lambda e: e.tick):
            ch = ev.channel
            if ch is None or ch == midi.DRUM_CHANNEL or ev.kind not in (0x80, 0x90):
                continue
            key = (ch, ev.data[1])
            if ev.kind == 0x90 and ev.data[2] > 0:
                open_at.setdefault(key, ev.tick)
            elif key in open_at:
                start = open_at.pop(key)
                if ev.tick > start:
                    notes.append((start, ev.tick, ev.data[1]))
    return sorted(notes)


def _sounding(notes: list[tuple[int, int, int]], tick: int) -> set[int]:
    return {p % 12 for start, end, p in notes if start <= tick < end}


def melody(song: midi.MidiFile, rng: random.Random, program: int) -> midi.MidiFile | None:
    """A lead melody over `song` (same division and tempo map) on channel 0 with `program`; None if the song has
    no pitched notes to follow."""
    notes = accompaniment_notes(song)
    if not notes:
        return None
    end_tick = max(end for _, end, _ in notes)
    eighth = max(1, song.division // 2)
    low = rng.randint(45, 57)  # the singer's range: A2..A3 up to 12-17 semitones above
    high = low + rng.randint(12, 17)
    meta = [
        ev
        for events in song.tracks
        for ev in events
        if ev.data[0] == 0xFF and len(ev.data) > 1 and ev.data[1] in _META_KEEP
    ]
    events = [midi.Event(0, bytes([0xC0, program])), midi.Event(0, bytes([0xB0, 7, 100]))]
    prev = rng.randint(low + 3, high - 3)
    t = rng.choice([0, 2, 4, 8]) * eighth
    while t < end_tick:
        events.append(midi.Event(t, bytes([0xB0, 1, rng.randint(0, 70)])))  # vibrato depth per phrase
        for _ in range(rng.randint(3, 12)):
            if t >= end_tick:
                break
            length = _weighted(rng, _NOTE_EIGHTHS) * eighth
            chord = _sounding(notes, t)
            candidates = [p for p in range(low, high + 1) if p % 12 in chord] or [
                p for p in range(max(low, prev - 2), min(high, prev + 2) + 1)
            ]
            pitch = rng.choices(candidates, weights=[math.exp(-abs(p - prev) / 2.5) for p in candidates])[0]
            off = t + max(1, int(length * rng.uniform(0.8, 1.0)))
            events.append(midi.Event(t, bytes([0x90, pitch, rng.randint(70, 115)])))
            events.append(midi.Event(off, bytes([0x80, pitch, 64])))
            prev, t = pitch, t + length
        t += rng.choice(_REST_EIGHTHS) * eighth
    return midi.MidiFile(1, song.division, [meta, events])


def choose(rng: random.Random, song: midi.MidiFile, programs=VOICE_PROGRAMS) -> tuple[int, midi.MidiFile | None]:
    """(GM program, melody) for a song, all from `rng`; the program from `programs` ((program, weight) pairs)."""
    program = _weighted(rng, programs)
    return program, melody(song, rng, program)
