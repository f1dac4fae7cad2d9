"""Fixed train/valid/test splits, decided by name so they never change between runs or machines."""
from __future__ import annotations

import zlib

# MIR-1K singers kept out of training: the test set (vocals/accompaniment SDR) and the vocals of synthetic tests
MIR1K_TEST_SINGERS = ("abjones", "ariel", "khair")
MIR1K_VALID_SINGERS = ("tammy",)


def synth_split(song: str) -> str:
    bucket = zlib.crc32(song.encode()) % 10
    return "test" if bucket == 0 else "valid" if bucket == 1 else "train"


def mir1k_singer(clip: str) -> str:
    return clip.split("_")[0]


def mir1k_split(clip: str) -> str:
    singer = mir1k_singer(clip)
    return "test" if singer in MIR1K_TEST_SINGERS else "valid" if singer in MIR1K_VALID_SINGERS else "train"
