"""A small Standard MIDI File reader/writer, just enough to split a song into stems by channel and program.

Stems follow General MIDI: channel 10 (index 9) is drums, programs 32-39 are basses, everything else is other.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

DRUM_CHANNEL = 9
BASS_PROGRAMS = range(32, 40)


@dataclass
class Event:
    tick: int  # absolute time in ticks
    data: bytes  # status byte included (running status expanded); meta/sysex as written in the file

    @property
    def channel(self) -> int | None:
        s = self.data[0]
        return s & 0x0F if 0x80 <= s < 0xF0 else None

    @property
    def kind(self) -> int:
        return self.data[0] & 0xF0 if self.data[0] < 0xF0 else self.data[0]


@dataclass
class MidiFile:
    fmt: int
    division: int
    tracks: list[list[Event]] = field(default_factory=list)


def _read_vlq(buf: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while True:
        b = buf[pos]
        pos += 1
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, pos


def _vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


_DATA_LEN = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}


def parse(raw: bytes) -> MidiFile:
    if raw[:4] != b"MThd":
        raise ValueError("not a Standard MIDI File (no MThd header)")
    hlen, fmt, ntracks, division = struct.unpack(">IHHH", raw[4:14])
    pos = 8 + hlen
    song = MidiFile(fmt, division)
    for _ in range(ntracks):
        if raw[pos : pos + 4] != b"MTrk":
            break
        (tlen,) = struct.unpack(">I", raw[pos + 4 : pos + 8])
        end = pos + 8 + tlen
        p, tick, status, events = pos + 8, 0, 0, []
        while p < end:
            delta, p = _read_vlq(raw, p)
            tick += delta
            b = raw[p]
            if b == 0xFF:
                length, q = _read_vlq(raw, p + 2)
                if raw[p + 1] != 0x2F:  # end of track is written back by write()
                    events.append(Event(tick, raw[p : q + length]))
                p = q + length
            elif b in (0xF0, 0xF7):
                length, q = _read_vlq(raw, p + 1)
                events.append(Event(tick, raw[p : q + length]))
                p = q + length
            else:
                if b >= 0x80:
                    status, p = b, p + 1
                n = _DATA_LEN[status & 0xF0]
                events.append(Event(tick, bytes([status]) + raw[p : p + n]))
                p += n
        song.tracks.append(events)
        pos = end
    return song


def write(song: MidiFile) -> bytes:
    out = [struct.pack(">4sIHHH", b"MThd", 6, 1, len(song.tracks), song.division)]
    for events in song.tracks:
        body, last = bytearray(), 0
        for ev in sorted(events, key=lambda e: e.tick):
            body += _vlq(ev.tick - last) + ev.data
            last = ev.tick
        body += _vlq(0) + b"\xFF\x2F\x00"
        out.append(struct.pack(">4sI", b"MTrk", len(body)) + bytes(body))
    return b"".join(out)


def channel_programs(song: MidiFile) -> dict[int, int]:
    """First program of every channel that plays notes (0 when a channel never sets one)."""
    programs: dict[int, int] = {}
    playing: set[int] = set()
    for events in song.tracks:
        for ev in events:
            ch = ev.channel
            if ch is None:
                continue
            if ev.kind == 0xC0 and ch not in programs:
                programs[ch] = ev.data[1]
            if ev.kind == 0x90 and ev.data[2] > 0:
                playing.add(ch)
    return {ch: programs.get(ch, 0) for ch in sorted(playing)}


def stem_of(channel: int, program: int) -> str:
    if channel == DRUM_CHANNEL:
        return "drums"
    if program in BASS_PROGRAMS:
        return "bass"
    return "other"


def split_stems(song: MidiFile, program_map: dict[int, int] | None = None) -> dict[str, MidiFile]:
    """One MidiFile per stem with only that stem's channels; meta events (tempo, metre) go to every stem.

    program_map replaces each channel's program (timbre variation); the stem is decided by the new program.
    """
    programs = channel_programs(song)
    program_map = program_map or {}
    stems_of = {ch: stem_of(ch, program_map.get(ch, prog)) for ch, prog in programs.items()}
    out: dict[str, MidiFile] = {}
    for stem in sorted(set(stems_of.values())):
        tracks = []
        for events in song.tracks:
            kept = []
            for ev in events:
                ch = ev.channel
                if ch is None:
                    if ev.data[0] == 0xFF and ev.data[1] != 0x2F:
                        kept.append(ev)
                elif stems_of.get(ch) == stem:
                    if ev.kind == 0xC0 and ch in program_map:
                        ev = Event(ev.tick, bytes([ev.data[0], program_map[ch]]))
                    kept.append(ev)
            tracks.append(kept)
        # a channel that never set a program gets one at tick 0 so the replacement timbre applies
        for ch, st in stems_of.items():
            if st == stem and ch in program_map and ch != DRUM_CHANNEL:
                tracks[0].insert(0, Event(0, bytes([0xC0 | ch, program_map[ch]])))
        out[stem] = MidiFile(1, song.division, tracks)
    return out
