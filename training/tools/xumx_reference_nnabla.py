"""Independent forward pass of Sony's OpenUnmix_CrossNet in test mode, in numpy float64 (parity tests only).

  /usr/bin/python3 training/tools/xumx_reference_nnabla.py PARAMS.h5 INPUT.f32 OUTPUT.f32 --shape B,2,2049,T

Reads the nnabla parameter file by name and follows sony/ai-research-code x-umx/model.py step by step, with
nnabla's semantics for each function: PF.affine computes x @ W with W (inmaps, outmaps) over the axes from
base_axis on; PF.batch_normalization in test mode is (x - mean) * gamma / sqrt(var + 1e-5) + beta; nnabla's LSTM
(src/nbla/function/generic/lstm.cpp) multiplies [x, h] by each gate's (H, I + H) matrix, gates in the order
i, f, g, o, one bias per gate, zero initial state, backward direction over the reversed sequence, outputs
concatenated [forward, backward]. Input and output are raw little-endian float32: mix_mag [B, 2, 2049, T] and
est_mag [4, B, 2, 2049, T] (the engine's model contract).
"""
from __future__ import annotations

import argparse
import sys

import h5py
import numpy as np

SOURCES = ("bass", "drums", "vocals", "other")
EPS = 1e-5


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class Params:
    def __init__(self, path):
        self.f = h5py.File(path, "r")

    def __getitem__(self, name):
        return np.asarray(self.f[name][...], dtype=np.float64)


def fc_bn(p, x, scope, activation=None):
    """PF.affine(base_axis=2, no bias) then PF.batch_normalization(axes=[2]) with running statistics."""
    frames, batch = x.shape[:2]
    y = x.reshape(frames, batch, -1) @ p[f"{scope}/affine/W"]
    mean, var = p[f"{scope}/bn/mean"], p[f"{scope}/bn/var"]
    gamma, beta = p[f"{scope}/bn/gamma"], p[f"{scope}/bn/beta"]
    y = (y - mean) * gamma / np.sqrt(var + EPS) + beta
    if activation == "tanh":
        y = np.tanh(y)
    elif activation == "relu":
        y = np.maximum(y, 0.0)
    return y


def lstm_direction(x, w, b):
    """One direction of one layer. x [T, B, I]; w [4, H, I + H] gates i, f, g, o; b [4, H]."""
    frames, batch, _ = x.shape
    hidden = w.shape[1]
    h = np.zeros((batch, hidden))
    c = np.zeros((batch, hidden))
    out = np.zeros((frames, batch, hidden))
    for t in range(frames):
        xh = np.concatenate([x[t], h], axis=1)
        i, f, g, o = (xh @ w[k].T + b[k] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out[t] = h
    return out


def blstm(p, x, scope, layers=3):
    w0, w, b = p[f"{scope}/lstm/weight_l0"], p[f"{scope}/lstm/weight"], p[f"{scope}/lstm/bias"]
    for layer in range(layers):
        wl = w0 if layer == 0 else w[layer - 1]
        fwd = lstm_direction(x, wl[0], b[layer, 0])
        bwd = lstm_direction(x[::-1], wl[1], b[layer, 1])[::-1]
        x = np.concatenate([fwd, bwd], axis=2)
    return x


def forward(p, mix_mag):
    # model.py works on (nb_frames, nb_samples, nb_channels, nb_bins).
    mix_spec = np.transpose(mix_mag, (3, 0, 1, 2))
    max_bin = p["input_mean_bass"].shape[0]
    x = mix_spec[..., :max_bin]
    enc = {}
    for s in SOURCES:
        xs = x + p[f"input_mean_{s}"]
        xs = xs * p[f"input_scale_{s}"]
        enc[s] = fc_bn(p, xs, f"fc1_{s}", "tanh")
    cross_1 = sum(enc[s] for s in SOURCES) / 4.0
    skip = {s: np.concatenate([enc[s], blstm(p, cross_1, f"lstm_{s}")], axis=2) for s in SOURCES}
    cross_2 = sum(skip[s] for s in SOURCES) / 4.0
    out = []
    frames, batch, channels, bins = mix_spec.shape
    for s in SOURCES:
        y = fc_bn(p, cross_2, f"fc2_{s}", "relu")
        y = fc_bn(p, y, f"fc3_{s}")
        y = y.reshape(frames, batch, channels, bins)
        y = y * p[f"output_scale_{s}"]
        y = y + p[f"output_mean_{s}"]
        out.append(np.maximum(y, 0.0) * mix_spec)
    return np.transpose(np.stack(out), (0, 2, 3, 4, 1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("params")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--shape", required=True)
    args = ap.parse_args(argv)
    shape = tuple(int(v) for v in args.shape.split(","))
    mix = np.fromfile(args.input, dtype="<f4").astype(np.float64).reshape(shape)
    est = forward(Params(args.params), mix)
    est.astype("<f4").tofile(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
