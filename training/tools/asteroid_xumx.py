"""asteroid's X-UMX checkpoint layout (asteroid/models/x_umx.py, class XUMX): expected names and shapes, loading,
and an independent forward pass that follows asteroid's forward_masker + apply_masks, for the converter and tests.

State-dict names (asteroid registers them this way): per source s
  mean_scale.input_mean_s / input_scale_s [max_bin], mean_scale.output_mean_s / output_scale_s [2049]
  layer_enc.s.enc.0.weight [hidden, 2 * max_bin] (torch Linear: [out, in]), layer_enc.s.enc.1.* BatchNorm1d(hidden)
  layer_lstm.s.{weight_ih,weight_hh,bias_ih,bias_hh}_l{k}[_reverse] (torch LSTM, gates i, f, g, o)
  layer_dec.s.dec.0.weight [hidden, 2 * hidden], dec.1.* BatchNorm1d(hidden), dec.3.weight [2 * 2049, hidden],
  dec.4.* BatchNorm1d(2 * 2049)
plus the STFT window buffers encoder.0.window / decoder.window, which inference on magnitudes does not use.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

N_BINS = 2049
CHANNELS = 2
DEFAULT_SOURCES = ("bass", "drums", "vocals", "other")


class CheckpointError(ValueError):
    pass


def load_checkpoint(path: str):
    """Returns (state_dict, model_args). Accepts asteroid's package ({model_name, state_dict, model_args}) or a bare
    state_dict."""
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, dict) and "state_dict" in obj:
        return obj["state_dict"], dict(obj.get("model_args") or {})
    if isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj, {}
    raise CheckpointError(f"{path}: neither an asteroid model package nor a state_dict")


def expected_shapes(sources, hidden=512, max_bin=1487, layers=3):
    h = hidden // 2
    out = {}
    for s in sources:
        out[f"mean_scale.input_mean_{s}"] = (max_bin,)
        out[f"mean_scale.input_scale_{s}"] = (max_bin,)
        out[f"mean_scale.output_mean_{s}"] = (N_BINS,)
        out[f"mean_scale.output_scale_{s}"] = (N_BINS,)

        def bn(prefix, n):
            for k in ("weight", "bias", "running_mean", "running_var"):
                out[f"{prefix}.{k}"] = (n,)

        out[f"layer_enc.{s}.enc.0.weight"] = (hidden, CHANNELS * max_bin)
        bn(f"layer_enc.{s}.enc.1", hidden)
        for k in range(layers):
            for suffix in ("", "_reverse"):
                out[f"layer_lstm.{s}.weight_ih_l{k}{suffix}"] = (4 * h, hidden if k == 0 else 2 * h)
                out[f"layer_lstm.{s}.weight_hh_l{k}{suffix}"] = (4 * h, h)
                out[f"layer_lstm.{s}.bias_ih_l{k}{suffix}"] = (4 * h,)
                out[f"layer_lstm.{s}.bias_hh_l{k}{suffix}"] = (4 * h,)
        out[f"layer_dec.{s}.dec.0.weight"] = (hidden, 2 * hidden)
        bn(f"layer_dec.{s}.dec.1", hidden)
        out[f"layer_dec.{s}.dec.3.weight"] = (CHANNELS * N_BINS, hidden)
        bn(f"layer_dec.{s}.dec.4", CHANNELS * N_BINS)
    return out


def validate(path, state, args):
    """Checks every name and shape; returns (sources, hidden, max_bin, layers)."""
    sources = tuple(args.get("sources") or DEFAULT_SOURCES)
    hidden = int(args.get("hidden_size", 512))
    max_bin = int(args.get("max_bin") or 1487)
    layers = int(args.get("nb_layers", 3))
    if args.get("nb_channels", 2) != 2 or not args.get("bidirectional", True):
        raise CheckpointError(f"{path}: only stereo bidirectional X-UMX fits the engine contract")
    if args.get("in_chan", 4096) != 4096 or args.get("n_hop", 1024) != 1024 or args.get("sample_rate", 44100) != 44100:
        raise CheckpointError(f"{path}: the engine runs n_fft 4096, hop 1024 at 44.1 kHz")
    problems = []
    for name, shape in expected_shapes(sources, hidden, max_bin, layers).items():
        t = state.get(name)
        if t is None:
            problems.append(f"{name} is missing")
        elif tuple(t.shape) != shape:
            problems.append(f"{name} has shape {tuple(t.shape)}, expected {shape}")
        elif not t.is_floating_point():
            problems.append(f"{name} is {t.dtype}, expected a float tensor")
    if problems:
        more = f"; and {len(problems) - 8} more" if len(problems) > 8 else ""
        raise CheckpointError(
            f"{path}: not asteroid's X-UMX layout (sources {'/'.join(sources)}, hidden {hidden}, "
            f"max_bin {max_bin}, {layers} layers): " + "; ".join(problems[:8]) + more
        )
    return sources, hidden, max_bin, layers


def reference_forward(state, sources, mix_mag, hidden=512, max_bin=1487, layers=3):
    """asteroid's XUMX.forward_masker and apply_masks on a magnitude [B, 2, 2049, T]; returns [S, B, 2, 2049, T].
    Written from the reference's semantics with torch functions, independent of the converter's model class."""
    st = {k: v.double() for k, v in state.items() if v.is_floating_point()}
    x_full = mix_mag.double().permute(3, 0, 1, 2)  # (frames, batch, channels, bins) as asteroid's _Spectrogram
    frames, batch, channels, _ = x_full.shape
    x = x_full[..., :max_bin]

    def bn(y, prefix):
        return F.batch_norm(
            y,
            st[f"{prefix}.running_mean"],
            st[f"{prefix}.running_var"],
            st[f"{prefix}.weight"],
            st[f"{prefix}.bias"],
            training=False,
            eps=1e-5,
        )

    encoded = []
    for s in sources:
        xs = (x + st[f"mean_scale.input_mean_{s}"]) * st[f"mean_scale.input_scale_{s}"]
        y = F.linear(xs.reshape(-1, channels * max_bin), st[f"layer_enc.{s}.enc.0.weight"])
        encoded.append(torch.tanh(bn(y, f"layer_enc.{s}.enc.1").reshape(frames, batch, hidden)))
    cross_1 = sum(encoded) / len(sources)
    cross_2 = 0.0
    for i, s in enumerate(sources):
        lstm = torch.nn.LSTM(hidden, hidden // 2, num_layers=layers, bidirectional=True).double().eval()
        lstm.load_state_dict(
            {k[len(f"layer_lstm.{s}.") :]: v for k, v in st.items() if k.startswith(f"layer_lstm.{s}.")}
        )
        with torch.no_grad():
            out = lstm(cross_1)[0]
        cross_2 = cross_2 + torch.cat([encoded[i], out], -1)
    cross_2 = cross_2 / len(sources)
    masks = []
    for s in sources:
        y = F.linear(cross_2.reshape(-1, 2 * hidden), st[f"layer_dec.{s}.dec.0.weight"])
        y = torch.relu(bn(y, f"layer_dec.{s}.dec.1"))
        y = bn(F.linear(y, st[f"layer_dec.{s}.dec.3.weight"]), f"layer_dec.{s}.dec.4")
        y = y.reshape(frames, batch, channels, N_BINS)
        y = y * st[f"mean_scale.output_scale_{s}"]
        y = y + st[f"mean_scale.output_mean_{s}"]
        masks.append(torch.relu(y))
    est = torch.stack([x_full * m for m in masks])
    return est.permute(0, 2, 3, 4, 1)
