"""Split a checkpoint into <=15 MiB weights-only parts (to bring it back from the GPU machine), join parts, or
average the weights of several checkpoints (the last one's config and progress).

  python3 training/checkpoint_parts.py split RUN/best.pt OUTDIR/xumx-best
  python3 training/checkpoint_parts.py join OUTDIR/xumx-best training/runs/gpu/best.pt
  python3 training/checkpoint_parts.py average RUN/averaged.pt RUN/step-000100.pt RUN/step-000150.pt ...
"""
from __future__ import annotations

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xumx import checkpoint  # noqa: E402


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) >= 3 and argv[0] == "average":
        torch.save(checkpoint.average([checkpoint.load(p) for p in argv[2:]]), argv[1])
        print(argv[1])
        return 0
    if len(argv) != 3 or argv[0] not in ("split", "join"):
        print(__doc__, file=sys.stderr)
        return 2
    verb, src, dst = argv
    if verb == "split":
        slim = dst + ".pt"
        torch.save(checkpoint.weights_only(checkpoint.load(src)), slim)
        parts = checkpoint.split(slim, dst)
        os.remove(slim)
        print("\n".join(parts))
    else:
        print(checkpoint.join(src, dst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
