import json

import pytest

import export_quantized
import plot_bitwidths


def test_the_picture_has_one_bar_per_layer_from_a_manifest(tmp_path):
    out = tmp_path / "q"
    args = ["--out", str(out), "--id", "q", "--random-init", "--seed", "0", "--hidden", "16", "--bits", "4"]
    assert export_quantized.main(args + ["--layer-bits", "vocals.fc1=8"]) == 0
    rows = plot_bitwidths.layer_bits(str(out / "manifest.json"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(rows) == len(manifest["quantization"]["layers"]) == 4 * (2 + 2 * 3 * 2 + 1)
    assert ("vocals.fc1", 8) in [(layer, bits) for layer, bits, _ in rows]
    assert all(elements > 1 for _, _, elements in rows)
    png = tmp_path / "bits.png"
    assert plot_bitwidths.main(["--out", str(png), f"q={out / 'manifest.json'}"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_short_layer_names():
    assert plot_bitwidths.short("vocals.lstm.weight_hh_l1_reverse") == "vocals hh1r"
    assert plot_bitwidths.short("bass.lstm.weight_ih_l0") == "bass ih0"
    assert plot_bitwidths.short("other.fc3") == "other fc3"


def test_a_float_manifest_is_refused_by_name(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"id": "float"}))
    with pytest.raises(SystemExit, match="no quantization layers"):
        plot_bitwidths.layer_bits(str(path))
