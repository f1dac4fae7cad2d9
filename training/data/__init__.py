"""Data pipeline: synthetic multitracks (mma + MIDI songs through fluidsynth), MIR-1K singing, packing."""
