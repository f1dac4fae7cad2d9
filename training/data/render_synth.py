"""Render synthetic multitrack songs, one stem at a time, so every stem is known exactly.

Two song sources, both turned into MIDI, split into stems by GM channel/program (data/midi.py) and rendered with
fluidsynth through a per-stem random soundfont:
- accompaniment written by `mma` from a random chord progression, tempo, key and style;
- MIDI songs shipped in Debian packages (openttd-openmsx, planetblupi-music-midi, and the music lumps of
  freedoom's WADs; freedoom's songs are rendered for training only, so the held-out sets stay as they were);
- tracker modules (pingus-data) whose instruments all say what they are, rendered per instrument with xmp and
  summed per stem (data/tracker.py); training only, too;
- recorded guitar tracks of the Frets on Fire song packs as "other" stems (data/recorded.py); training only.
Each song's choices come from its own seed, so a song renders the same on every run.

Drums of training songs are played on a sampled drum kit instead (data/drumkit.py: Hydrogen's kits, Sonic Pi's
one-shots) with probability --p-kit, decided by a second seeded generator so every other choice stays as it was.
Validation and test songs always keep their soundfont drums, so held-out numbers stay comparable between builds.
Rerunning over an existing folder renders the drums of songs that now get a kit and keeps everything else.

Every MIDI/mma training song also gets a voice lead (data/voicelead.py): a melody over its harmony on a GM voice,
in its own file, which the sampler can put in place of the vocals (MIR-1K stops at 8 kHz, the voice lead does not);
and an instrument lead, the same kind of melody on a clarinet, sax, flute, violin, trumpet, synth lead or lead
guitar, which the sampler can add to "other" (a line that is not a voice). A rerun adds the leads an older build
lacks and keeps everything else.

  /usr/bin/python3 training/data/render_synth.py --out training/data/build/synth --songs 300 --seed 1 --jobs 2

Output: OUT/<song>/{bass,drums,other}.wav (44.1 kHz float32 stereo; a missing file means the stem is silent),
OUT/<song>/{voicelead,instrlead}.wav for training songs (not part of the mixture), and OUT/<song>/song.json with
the choices made.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import random
import subprocess
import sys
import tempfile
from multiprocessing import Pool

import numpy as np
from scipy.io import wavfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data import drumkit, midi, recorded, tracker, voicelead, wad  # noqa: E402
from data.splits import synth_split  # noqa: E402

SAMPLE_RATE = 44100
SF = "/usr/share/sounds"
MELODIC_SOUNDFONTS = [
    (f"{SF}/sf2/FluidR3_GM.sf2", 5),
    (f"{SF}/sf2/TimGM6mb.sf2", 3),
    (f"{SF}/sf3/MuseScore_General.sf3", 1),
]
DRUM_SOUNDFONTS = [
    (f"{SF}/sf2/FluidR3_GM.sf2", 3),
    (f"{SF}/sf2/TimGM6mb.sf2", 2),
    (f"{SF}/sf3/MuseScore_General.sf3", 1),
    (f"{SF}/sf2/Black_Pearl_4_LV2.sf2", 2),
    (f"{SF}/sf2/Red_Zeppelin_4_LV2.sf2", 2),
]
# kits that hold one drum preset on bank 0 instead of GM's percussion bank: play their notes on channel 1
BANK0_KITS = ("Black_Pearl", "Red_Zeppelin")
# timbres for "other": keyboards, organs, guitars, strings, ensembles, brass, reeds, pipes, synth pads/leads;
# no basses (32-39), no voices (52-54, 85: they would teach "voice means other"), no sound effects (>= 112)
OTHER_PROGRAMS = [p for p in range(0, 112) if p not in range(32, 40) and p not in (52, 53, 54, 85)]
MIDI_SONG_GLOBS = [
    "/usr/share/games/openttd/baseset/openmsx/*.mid",
    "/usr/share/games/openttd/baseset/*/*.mid",
    "/usr/share/planetblupi/music/*.mid",
    "/usr/share/games/planetblupi/music/*.mid",
]

CHORDS = ["", "m", "7", "m7", "maj7", "sus4", "6", "9", "m6", "dim", "7sus4", "add9"]
ROOTS = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
# progressions as (semitones above the key, favoured quality)
PROGRESSIONS = [
    [(0, ""), (9, "m"), (5, ""), (7, "7")],
    [(0, ""), (7, ""), (9, "m"), (5, "")],
    [(2, "m7"), (7, "7"), (0, "maj7"), (0, "maj7")],
    [(0, "m"), (10, ""), (8, ""), (7, "")],
    [(0, ""), (5, ""), (0, ""), (7, "7")],
    [(9, "m"), (5, ""), (0, ""), (7, "")],
    [(0, "m7"), (5, "7"), (0, "m7"), (7, "7")],
    [(0, ""), (4, "m"), (5, ""), (7, "")],
]


def weighted(rng: random.Random, items):
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


def styles() -> list[str]:
    names = sorted(os.path.basename(p)[:-4] for p in glob.glob("/usr/share/mma/lib/stdlib/*.mma"))
    return [n for n in names if not n.startswith("metronome")]


def mma_song(rng: random.Random, style: str) -> str:
    bars = rng.choice([8, 12, 16])
    prog = rng.choice(PROGRESSIONS)
    # RndSeed: mma humanises timing and velocity with its own random numbers; seed them for repeatable songs
    lines = [
        f"RndSeed {rng.randrange(1 << 30)}",
        f"Tempo {rng.randint(70, 170)}",
        f"Groove {style}",
        f"Transpose {rng.randint(-6, 5)}",
    ]
    for bar in range(bars):
        chords = []
        for _ in range(rng.choice([1, 1, 2])):
            step, quality = (
                prog[(2 * bar + len(chords)) // 2 % len(prog)]
                if rng.random() < 0.7
                else (rng.randrange(12), rng.choice(CHORDS))
            )
            if rng.random() < 0.3:
                quality = rng.choice(CHORDS)
            chords.append(ROOTS[step % 12] + quality)
        lines.append(f"{bar + 1} " + " ".join(chords if len(chords) == 1 else [chords[0], "/", chords[1], "/"]))
    return "\n".join(lines) + "\n"


def program_map(rng: random.Random, programs: dict[int, int]) -> dict[int, int]:
    """Replace timbres for variety, keeping each channel's stem (a bass stays a bass)."""
    out = {}
    for ch, prog in programs.items():
        if ch == midi.DRUM_CHANNEL or rng.random() < 0.4:
            continue
        out[ch] = rng.randrange(32, 40) if prog in midi.BASS_PROGRAMS else rng.choice(OTHER_PROGRAMS)
    return out


def to_channel_0(song: midi.MidiFile) -> None:
    for track in song.tracks:
        for i, ev in enumerate(track):
            if ev.channel == midi.DRUM_CHANNEL:
                track[i] = midi.Event(ev.tick, bytes([ev.data[0] & 0xF0]) + ev.data[1:])


def kit_choice(name: str, seed: int, p_kit: float) -> tuple[drumkit.Kit | None, random.Random]:
    """The sampled drum kit a song's drums get (None: its soundfont), and the generator for the kit's choices."""
    kit_rng = random.Random(f"drumkit:{seed}")
    use = kit_rng.random() < p_kit
    kits = drumkit.available_kits()
    if not use or not kits or synth_split(name) != "train":
        return None, kit_rng
    return kits[kit_rng.randrange(len(kits))], kit_rng


def render_kit_drums(part: midi.MidiFile, kit: drumkit.Kit, kit_rng: random.Random, wav: str) -> dict:
    """The drum stem on a sampled kit, with a seeded room on some songs, at a level like the soundfont renders'."""
    x = drumkit.render(part, kit, kit_rng)
    reverb = kit_rng.random() < 0.5
    if reverb:
        x = drumkit.room(x, kit_rng)
    rms = float(np.sqrt(np.mean(x**2))) if x.size else 0.0
    if rms > 0:  # the soundfont drum stems lie between about -54 and -30 dB RMS
        x *= 10 ** (kit_rng.uniform(-48, -30) / 20) / rms
        x /= max(1.0, float(np.abs(x).max()) / 0.99)
    wavfile.write(wav + ".tmp.wav", drumkit.SAMPLE_RATE, x.astype(np.float32))
    os.replace(wav + ".tmp.wav", wav)
    return {"kit": kit.name, "kit_reverb": reverb}


def fluidsynth(mid: str, wav: str, soundfont: str, reverb: bool, chorus: bool) -> None:
    # float output: fluidsynth dithers 16-bit output with random noise, float output repeats exactly
    subprocess.run(
        [
            "fluidsynth",
            "-ni",
            "-g",
            "0.5",
            "-r",
            str(SAMPLE_RATE),
            "-O",
            "float",
            "-R",
            str(int(reverb)),
            "-C",
            str(int(chorus)),
            "-F",
            wav,
            soundfont,
            mid,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def render_stems(
    song: midi.MidiFile,
    rng: random.Random,
    out_dir: str,
    tmp: str,
    kit: drumkit.Kit | None = None,
    kit_rng: random.Random | None = None,
    only: str | None = None,
) -> dict:
    mapping = program_map(rng, midi.channel_programs(song))
    stems = midi.split_stems(song, mapping)
    choices = {"program_map": mapping, "stems": {}}
    reverb, chorus = rng.random() < 0.6, rng.random() < 0.4
    for stem, part in stems.items():
        sf = weighted(rng, DRUM_SOUNDFONTS if stem == "drums" else MELODIC_SOUNDFONTS)
        if only and stem != only:
            continue
        if stem == "drums" and kit is not None:
            choices["drums"] = render_kit_drums(part, kit, kit_rng, os.path.join(out_dir, "drums.wav"))
            choices["stems"][stem] = "kit:" + kit.name
            continue
        if stem == "drums" and any(k in sf for k in BANK0_KITS):
            to_channel_0(part)
        mid = os.path.join(tmp, stem + ".mid")
        with open(mid, "wb") as f:
            f.write(midi.write(part))
        wav = os.path.join(out_dir, stem + ".wav")
        fluidsynth(mid, wav, sf, reverb, chorus)
        choices["stems"][stem] = os.path.basename(sf)
    choices.update(reverb=reverb, chorus=chorus)
    return choices


def write_song_info(info_path: str, info: dict) -> None:
    """song.json, written last and whole: its presence marks a finished song."""
    with open(info_path + ".tmp", "w") as f:
        json.dump(info, f, indent=1)
    os.replace(info_path + ".tmp", info_path)


# The leads a training song gets, each rendered alone and never part of the song's mixture: "voicelead" (a GM
# voice; the sampler may use it as the vocals of some mixtures) and "instrlead" (a lead instrument; the sampler may
# add it to "other").
LEADS = {"voicelead": voicelead.VOICE_PROGRAMS, "instrlead": voicelead.INSTRUMENT_LEAD_PROGRAMS}


def render_lead(song: midi.MidiFile, seed: int, out_dir: str, tmp: str, kind: str) -> dict:
    """OUT/<song>/<kind>.wav: a melody over the song (data/voicelead.py) on one of LEADS[kind]'s programs, from its
    own seeded generator so the song's other choices stay as they were."""
    rng = random.Random(f"{kind}:{seed}")
    program, lead = voicelead.choose(rng, song, LEADS[kind])
    if lead is None:
        return {"program": None}
    sf = weighted(rng, MELODIC_SOUNDFONTS)
    reverb = rng.random() < 0.6
    mid, wav = os.path.join(tmp, f"{kind}.mid"), os.path.join(out_dir, f"{kind}.wav")
    with open(mid, "wb") as f:
        f.write(midi.write(lead))
    fluidsynth(mid, wav + ".tmp.wav", sf, reverb, chorus=False)
    os.replace(wav + ".tmp.wav", wav)
    return {"program": program, "soundfont": os.path.basename(sf), "reverb": reverb}


def render_module(out_root: str, path: str) -> str:
    """A tracker module's stems, when it splits cleanly (otherwise nothing is written)."""
    name = song_name("module", 0, path)
    out_dir = os.path.join(out_root, name)
    info_path = os.path.join(out_dir, "song.json")
    if os.path.exists(info_path):
        return name
    result = tracker.split(path)
    if result is None:
        return f"{name} (not split: not an IT module in instrument mode, or a sounding instrument's name is unclear)"
    stems, choices = result
    os.makedirs(out_dir, exist_ok=True)
    for stem, x in stems.items():
        wavfile.write(os.path.join(out_dir, stem + ".wav"), tracker.SAMPLE_RATE, x.astype(np.float32))
    write_song_info(info_path, {"kind": "module", "source": path, "instruments": choices})
    return name


def module_songs() -> list[str]:
    found = sorted({p for g in tracker.MODULE_GLOBS for p in glob.glob(g)})
    return [p for p in found if synth_split(song_name("module", 0, p)) == "train"]


def render_recorded(out_root: str, path: str) -> str:
    """A Frets on Fire song's recorded guitar track as the "other" stem of a training song (data/recorded.py)."""
    name = recorded.song_name(path)
    out_dir = os.path.join(out_root, name)
    info_path = os.path.join(out_dir, "song.json")
    if os.path.exists(info_path):
        return name
    os.makedirs(out_dir, exist_ok=True)
    recorded.decode(path, os.path.join(out_dir, "other.wav"), SAMPLE_RATE)
    write_song_info(info_path, {"kind": "recorded", "source": path, "stems": {"other": "recorded guitar"}})
    return name


def render_one(job: tuple[str, int, str, str | None, float]) -> str:
    out_root, seed, kind, midi_path, p_kit = job
    if kind == "module":
        return render_module(out_root, midi_path)
    if kind == "recorded":
        return render_recorded(out_root, midi_path)
    rng = random.Random(seed)
    name = song_name(kind, seed, midi_path)
    out_dir = os.path.join(out_root, name)
    kit, kit_rng = kit_choice(name, seed, p_kit)
    wants_voice = synth_split(name) == "train"
    info_path = os.path.join(out_dir, "song.json")
    redo_drums = redo_voice = False
    if os.path.exists(info_path):
        with open(info_path) as f:
            done = json.load(f)
        drums = done.get("stems", {}).get("drums")
        # rendered before kits or leads were used: add only what is new
        redo_drums = not (kit is None or drums is None or drums == "kit:" + kit.name)
        redo_voice = wants_voice and any(kind not in done for kind in LEADS)
        if not (redo_drums or redo_voice):
            return name
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        info = {"seed": seed, "kind": kind}
        if kind == "mma":
            all_styles = styles()
            for _ in range(5):  # a few grooves need variations we do not name; try another style then
                style = rng.choice(all_styles)
                src = os.path.join(tmp, "song.mma")
                with open(src, "w") as f:
                    f.write(mma_song(rng, style))
                r = subprocess.run(["mma", src, "-f", os.path.join(tmp, "song.mid")], capture_output=True, text=True)
                if r.returncode == 0 and os.path.exists(os.path.join(tmp, "song.mid")):
                    info["style"] = style
                    break
            else:
                raise RuntimeError(f"mma failed for seed {seed}: {r.stdout[-300:]} {r.stderr[-300:]}")
            midi_path = os.path.join(tmp, "song.mid")
        else:
            info["source"] = midi_path
        song = midi.parse(read_midi(midi_path))
        if redo_drums or redo_voice:
            info = done
            if redo_drums:
                drums = render_stems(song, rng, out_dir, tmp, kit, kit_rng, only="drums")
                info = {**info, "drums": drums["drums"], "stems": {**info["stems"], **drums["stems"]}}
        else:
            info.update(render_stems(song, rng, out_dir, tmp, kit, kit_rng))
        for kind in LEADS:
            if wants_voice and kind not in info:
                info[kind] = render_lead(song, seed, out_dir, tmp, kind)
    write_song_info(info_path, info)
    return name


def wad_songs() -> list[str]:
    """`wad:<file>:<lump>` for every training-split MIDI lump of the freedoom WADs installed."""
    out = []
    for path in wad.FREEDOOM_WADS:
        if os.path.exists(path):
            for lump in sorted(wad.midi_lumps(path)):
                if synth_split(song_name("midi", 0, f"wad:{path}:{lump}")) == "train":
                    out.append(f"wad:{path}:{lump}")
    return out


def song_name(kind: str, seed: int, midi_path: str | None) -> str:
    if kind == "mma":
        return f"{kind}-{seed:05d}"
    if kind == "module":
        return f"mod-{os.path.splitext(os.path.basename(midi_path))[0]}"
    if midi_path.startswith("wad:"):
        _, path, lump = midi_path.split(":")
        return f"midi-{os.path.basename(path)[:-4]}-{lump.lower()}"
    return f"midi-{os.path.basename(midi_path)[:-4]}"


def read_midi(midi_path: str) -> bytes:
    if midi_path.startswith("wad:"):
        _, path, lump = midi_path.split(":")
        return wad.midi_lumps(path)[lump]
    with open(midi_path, "rb") as f:
        return f.read()


def midi_songs() -> list[str]:
    found = set()
    for g in MIDI_SONG_GLOBS:
        found.update(glob.glob(g))
    return sorted(found)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--songs", type=int, default=300, help="number of mma songs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--midi-songs", type=int, default=1000, help="at most this many packaged MIDI songs")
    ap.add_argument(
        "--p-kit",
        type=float,
        default=0.4,
        help="share of training songs whose drums play on a sampled kit (Hydrogen, Sonic Pi) when the "
        "packages are installed",
    )
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    jobs = [(args.out, args.seed * 100000 + i, "mma", None, args.p_kit) for i in range(args.songs)]
    for i, path in enumerate(midi_songs()[: args.midi_songs]):
        jobs.append((args.out, args.seed * 100000 + 50000 + i, "midi", path, args.p_kit))
    for i, path in enumerate(wad_songs()[: args.midi_songs]):
        jobs.append((args.out, args.seed * 100000 + 70000 + i, "midi", path, args.p_kit))
    jobs += [(args.out, 0, "module", path, 0.0) for path in module_songs()]
    # held-out songs would change the validation and test sets: recorded guitars are for training only
    jobs += [
        (args.out, 0, "recorded", path, 0.0)
        for path in recorded.guitar_tracks()
        if synth_split(recorded.song_name(path)) == "train"
    ]
    done = 0
    with Pool(args.jobs) as pool:
        for name in pool.imap_unordered(render_one, jobs):
            done += 1
            if done % 20 == 0 or done == len(jobs):
                print(f"{done}/{len(jobs)} {name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
