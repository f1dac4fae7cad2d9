"""Recorded guitar tracks from Debian's Frets on Fire song packs, as "other" stems of training songs.

Each song in fretsonfire-songs-muldjord (CC-BY-SA-3.0) and fretsonfire-songs-sectoid (MIT) comes as guitar.ogg
(the guitar part alone, a studio track) and song.ogg (the rest of the band). Only guitar.ogg is used: it is known
to hold nothing but guitar, which X-UMX counts as "other", so a real distorted or clean guitar can sit in "other"
next to the synthetic stems (the sampler mixes stems across songs). song.ogg is not used, because what it holds
(drums, bass, perhaps a voice) is not known part by part.

Decoded with sox (a data tool here, never needed by the app) to 44.1 kHz float WAV.
"""
from __future__ import annotations

import glob
import os
import subprocess

SONG_GLOBS = ["/usr/share/games/fretsonfire/data/songs/*/*/guitar.ogg"]


def guitar_tracks() -> list[str]:
    """Every installed Frets on Fire song's guitar.ogg, sorted."""
    found = set()
    for g in SONG_GLOBS:
        found.update(glob.glob(g))
    return sorted(found)


def song_name(guitar_path: str) -> str:
    """fof-<song folder, lower case, spaces as underscores>."""
    return "fof-" + os.path.basename(os.path.dirname(guitar_path)).lower().replace(" ", "_")


def decode(path: str, wav: str, rate: int = 44100) -> None:
    """path (any format sox reads) -> wav (float32, `rate`, the source's channels), written whole or not at all."""
    tmp = f"{wav}.{os.getpid()}.tmp.wav"  # two runs decoding the same song never share a partial file
    subprocess.run(
        ["sox", "-V1", path, "-r", str(rate), "-e", "floating-point", "-b", "32", tmp],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    os.replace(tmp, wav)
