"""Picture of the learned bitwidth of every weight matrix (as the paper's figure of per-layer bitwidths).

  /usr/bin/python3 training/plot_bitwidths.py --out models/xumx-studio-small/bitwidths.png \\
      NAME=training/runs/qat/best.pt [NAME=models/xumx-small-mp/manifest.json ...]

Each NAME=PATH is one network: a quantization-aware run's checkpoint (its "bitwidths" log) or an exported model's
manifest.json (its "quantization" layers). One row of bars per network, the layers in the network's order (per
source: fc1, the LSTM's input and recurrent matrices by layer and direction, fc2, fc3); the bar's width on the page
is the layer's share of the weights, so the area is its share of the weight memory.
"""
from __future__ import annotations

import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def layer_bits(path: str) -> list[tuple[str, int, int]]:
    """(layer, bits, elements) in the network's order; elements is 1 where the source does not say."""
    if path.endswith(".json"):
        with open(path) as f:
            q = json.load(f).get("quantization")
        if not q:
            raise SystemExit(f"{path}: the manifest has no quantization layers (a float model)")
        return [(r["layer"], int(r["bits"]), int(r.get("elements", 1))) for r in q["layers"]]
    import torch

    rows = torch.load(path, map_location="cpu").get("bitwidths")
    if not rows:
        raise SystemExit(f"{path}: no bitwidths in this checkpoint (only a run's best.pt keeps them)")
    return [(r["layer"], int(r["bits"]), int(r["elements"])) for r in rows]


def short(layer: str) -> str:
    """ "vocals.lstm.weight_hh_l1_reverse" -> "vocals hh1r"; "bass.fc1" -> "bass fc1"."""
    source, rest = layer.split(".", 1)
    if rest.startswith("lstm."):
        name = rest[len("lstm.weight_") :]
        kind, tail = name.split("_l", 1)
        layer_no, _, reverse = tail.partition("_")
        rest = f"{kind}{layer_no}{'r' if reverse else ''}"
    return f"{source} {rest}"


def plot(networks: list[tuple[str, list[tuple[str, int, int]]]], out: str) -> None:
    fig, axes = plt.subplots(len(networks), 1, figsize=(16, 3.2 * len(networks)), squeeze=False)
    for ax, (name, rows) in zip(axes[:, 0], networks):
        total = sum(e for _, _, e in rows)
        x = 0.0
        for layer, bits, elements in rows:
            width = elements / total
            colour = {"bass": "#4c72b0", "drums": "#dd8452", "vocals": "#55a868", "other": "#c44e52"}.get(
                layer.split(".")[0], "#8172b3"
            )
            ax.bar(x + width / 2, bits, width=width * 0.92, color=colour)
            x += width
        mean = sum(b * e for _, b, e in rows) / total
        ax.set_title(f"{name}: {mean:.2f} bits per weight on average")
        ax.set_ylabel("bits")
        ax.set_ylim(0, 9)
        ax.set_xlim(0, 1)
        ax.axhline(mean, color="black", linewidth=0.8, linestyle="--")
        centres, x = [], 0.0
        for _, _, elements in rows:
            centres.append(x + elements / total / 2)
            x += elements / total
        ax.set_xticks(centres)
        ax.set_xticklabels([short(layer) for layer, _, _ in rows], rotation=90, fontsize=6)
    fig.text(0.01, 0.01, "bar width = the layer's share of the quantized weights", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="PNG to write")
    ap.add_argument("networks", nargs="+", metavar="NAME=PATH")
    args = ap.parse_args(argv)
    networks = []
    for item in args.networks:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            ap.error(f"{item!r}: give NAME=PATH")
        networks.append((name, layer_bits(path)))
    plot(networks, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
