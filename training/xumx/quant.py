"""Learned uniform weight quantization for X-UMX, after Uhlich et al., "Mixed Precision DNNs: All you need is a good
parametrization" (ICLR 2020).

Every weight tensor l gets its own symmetric uniform quantizer Q(w) = d * round(clip(w, -qmax, qmax) / d), with the
integer |round(.)| <= 2^(b-1) - 1 stored in b bits. Two of (b, d, qmax) are learned and the third follows:

- "b_d":    qmax = d * (2^(b-1) - 1)
- "b_qmax": d = qmax / (2^(b-1) - 1)
- "d_qmax": b = ceil(log2(qmax/d + 1) + 1), with qmax first put on the step grid (the paper's recommendation: its
            gradients with respect to d and qmax are bounded and do not grow like 2^b)

Rounding (of w/d, of a learned b, of qmax/d and the ceil of the inferred b) is straight-through: the forward pass
rounds, the backward pass treats it as the identity. As in the paper's code, the gradients of d and qmax are clipped
to +-d (clip_quantizer_grads) and after every optimizer step the parameters are put back in their box and d <= qmax
is restored (clamp_quantizers). The bounds are the paper's, except the lower step bound: X-UMX's weights are an
order of magnitude smaller than a ResNet's (typical std 0.015-0.06, largest 0.56), so d may go down to 2^-16.

Which tensors are quantized: every weight matrix, per source branch: fc1, every LSTM input (weight_ih_*) and
recurrent (weight_hh_*) matrix of both directions, fc2 and fc3 -- 11,397,120 of the bundled model's 11,485,072
parameters (99.2 %). What stays float, and why:
- the LSTM biases, batch-norm scale/shift/statistics and the input/output scaling vectors (input_mean, input_scale,
  output_scale, output_mean): together 0.8 % of the parameters, so quantizing them saves almost nothing, while they
  set the operating point of every unit (a bias error shifts a whole gate or mask; the input scaling meets the
  mixture's magnitudes, which span orders of magnitude, before any weight);
- activations: the onnxruntime kernels the app uses (LSTM on every provider, MatMul on the GPU ones) compute in
  float32 anyway, so activation quantization would cost accuracy for no size or speed. The memory constraint here is
  the weights' only.

S_w = sum_l b_l * N_l (bits) is the weight memory; memory_penalty is the paper's lambda * relu(S_w - T_w)^2 with both
sizes in kilobytes as in its code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .model import XUMX

PARAMETRIZATIONS = ("b_d", "b_qmax", "d_qmax")


@dataclass(frozen=True)
class Bounds:
    """Box limits of the learned quantizer parameters (kept after every step by clamp_quantizers)."""

    b_min: int = 2
    b_max: int = 8
    d_min: float = 2.0**-16
    d_max: float = 1.0
    qmax_min: float = 2.0**-12
    qmax_max: float = 8.0


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """round() forward, identity backward."""
    return x + (torch.round(x) - x).detach()


def ceil_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.ceil(x) - x).detach()


def levels(bits: torch.Tensor) -> torch.Tensor:
    """Largest integer magnitude of a signed b-bit code: 2^(b-1) - 1."""
    return torch.pow(2.0, bits - 1) - 1


def inferred_bits(d: torch.Tensor, qmax: torch.Tensor, b_min: int = Bounds.b_min) -> torch.Tensor:
    """Bitwidth of a signed quantizer with step d and range qmax: ceil(log2(qmax/d + 1) + 1), qmax on the step grid,
    at least b_min. Differentiable (straight-through) so the memory penalty reaches d and qmax."""
    steps = round_ste(qmax / d)
    return torch.clamp(ceil_ste(torch.log2(steps + 1) + 1), min=float(b_min))


def bits_for_integer_range(k: int, b_min: int = Bounds.b_min) -> int:
    """Exact bits for integers in [-k, k] (the export's check of inferred_bits)."""
    return max(b_min, int(k).bit_length() + 1)


def fit_step_mse(w: torch.Tensor, bits: int, candidates: int = 100) -> float:
    """Step d (with qmax = d * (2^(b-1) - 1)) that minimises the weight MSE ||w - Q(w)||^2: a search over clipping
    ratios of max|w|. Post-training "learned ranges": no data, no training."""
    w = w.detach().float().flatten()
    top = float(w.abs().max())
    n = 2 ** (bits - 1) - 1
    best, best_err = top / n, math.inf
    for ratio in torch.linspace(1.0 / candidates, 1.0, candidates).tolist():
        d = top * ratio / n
        q = d * torch.round(torch.clamp(w, -top * ratio, top * ratio) / d)
        err = float(torch.sum((w - q) ** 2))
        if err < best_err:
            best, best_err = d, err
    return best


class WeightQuantizer(nn.Module):
    """The learned quantizer of one weight tensor; owns the float weight it rounds (initialised from the network's).

    forward() -> the quantized weight, same shape, differentiable in the float weight and the quantizer parameters.
    init: "max" puts qmax at max|w| (round-to-nearest over the full range), "mse" fits the range to the weight MSE.
    """

    def __init__(
        self,
        weight: torch.Tensor,
        parametrization: str = "d_qmax",
        bits: int = 8,
        init: str = "max",
        bounds: Bounds = Bounds(),
    ):
        super().__init__()
        if parametrization not in PARAMETRIZATIONS:
            raise ValueError(f"parametrization must be one of {PARAMETRIZATIONS}, got {parametrization!r}")
        if init not in ("max", "mse"):
            raise ValueError(f"init must be 'max' or 'mse', got {init!r}")
        self.parametrization = parametrization
        self.bounds = bounds
        self.weight = nn.Parameter(weight.detach().clone().float())
        n = 2 ** (bits - 1) - 1
        d0 = fit_step_mse(weight, bits) if init == "mse" else float(weight.detach().abs().max()) / n
        d0 = min(max(d0, bounds.d_min), bounds.d_max)
        qmax0 = d0 * n
        scalar = lambda v: nn.Parameter(torch.tensor(float(v)))  # noqa: E731
        if parametrization == "b_d":
            self.b, self.d = scalar(bits), scalar(d0)
        elif parametrization == "b_qmax":
            self.b, self.qmax = scalar(bits), scalar(qmax0)
        else:
            self.d, self.qmax = scalar(d0), scalar(qmax0)

    def step_range_bits(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(d, qmax, b) in effect, each differentiable; qmax is the clipping range of the forward pass."""
        bd = self.bounds
        if self.parametrization == "d_qmax":
            d = self.d.clamp(bd.d_min, bd.d_max)
            qmax = self.qmax.clamp(bd.qmax_min, bd.qmax_max)
            return d, qmax, inferred_bits(d, qmax, bd.b_min)
        b = round_ste(self.b.clamp(bd.b_min, bd.b_max))
        if self.parametrization == "b_d":
            d = self.d.clamp(bd.d_min, bd.d_max)
            return d, d * levels(b), b
        qmax = self.qmax.clamp(bd.qmax_min, bd.qmax_max)
        return qmax / levels(b), qmax, b

    def forward(self) -> torch.Tensor:
        d, qmax, _ = self.step_range_bits()
        clipped = torch.minimum(torch.maximum(self.weight, -qmax), qmax)
        return d * round_ste(clipped / d)

    @torch.no_grad()
    def integers(self) -> tuple[torch.Tensor, float, int]:
        """(q int32, step d, bits) with forward() == float32(d) * q exactly, as DequantizeLinear computes it."""
        d, qmax, _ = self.step_range_bits()
        q = torch.round(torch.minimum(torch.maximum(self.weight, -qmax), qmax) / d)
        bits = self.bits()
        k = int(q.abs().max()) if q.numel() else 0
        if bits_for_integer_range(k, self.bounds.b_min) > bits:
            raise ValueError(f"integers up to {k} do not fit {bits} bits")
        return q.to(torch.int32), float(d), bits

    @torch.no_grad()
    def bits(self) -> int:
        return int(self.step_range_bits()[2])

    def clip_grads(self) -> None:
        """The paper's code clips the step's and the range's gradients to +-d."""
        d = float(self.step_range_bits()[0])
        for name in ("d", "qmax"):
            p = getattr(self, name, None)
            if p is not None and p.grad is not None:
                p.grad.clamp_(-d, d)

    @torch.no_grad()
    def clamp_(self) -> None:
        """Back into the box after an optimizer step, with d <= qmax (margin 1e-5 as in the paper's code)."""
        bd = self.bounds
        if hasattr(self, "b"):
            self.b.clamp_(bd.b_min, bd.b_max)
        if hasattr(self, "d") and hasattr(self, "qmax"):
            d, qmax = float(self.d), float(self.qmax)
            self.d.fill_(min(d, qmax - 1e-5))
            self.qmax.fill_(max(d + 1e-5, qmax))
        if hasattr(self, "d"):
            self.d.clamp_(bd.d_min, bd.d_max)
        if hasattr(self, "qmax"):
            self.qmax.clamp_(bd.qmax_min, bd.qmax_max)


def weight_slots(model: XUMX) -> list[tuple[str, nn.Module, str]]:
    """(name, module, attribute) of every weight matrix, per branch: fc1, the LSTM's weight_ih_*/weight_hh_*, fc2,
    fc3. The name is the layer's in logs and plots, e.g. "vocals.lstm.weight_hh_l1_reverse"."""
    slots = []
    for source, branch in model.branches.items():
        slots.append((f"{source}.fc1", branch.fc1, "weight"))
        for attr in branch.lstm._flat_weights_names:
            if attr.startswith("weight_"):
                slots.append((f"{source}.lstm.{attr}", branch.lstm, attr))
        slots.append((f"{source}.fc2", branch.fc2, "weight"))
        slots.append((f"{source}.fc3", branch.fc3, "weight"))
    return slots


class QuantizedXUMX(nn.Module):
    """X-UMX whose weight matrices are replaced by learned quantizers; everything else is the float network's.

    forward: [batch, 2, 2049, frames] -> [4, batch, 2, 2049, frames], like XUMX. The quantizers are keyed by the layer
    name with "." as "/" (module names may not contain dots).
    """

    def __init__(
        self,
        model: XUMX,
        parametrization: str = "d_qmax",
        bits: int | dict[str, int] = 8,
        init: str = "max",
        bounds: Bounds = Bounds(),
    ):
        super().__init__()
        self.model = model
        self.quantizers = nn.ModuleDict()
        self._slots = []
        for name, module, attr in weight_slots(model):
            w = getattr(module, attr)
            b = bits[name] if isinstance(bits, dict) else bits
            self.quantizers[name.replace(".", "/")] = WeightQuantizer(w, parametrization, b, init, bounds)
            # the module keeps a plain tensor in the weight's place, written before every forward pass
            del module._parameters[attr]
            setattr(module, attr, w.detach().clone())
            self._slots.append((name, module, attr))

    def quantizer(self, name: str) -> WeightQuantizer:
        return self.quantizers[name.replace(".", "/")]

    def apply_weights(self) -> None:
        # RNNBase.__setattr__ also refreshes the LSTM's flat weight list, which its forward pass reads
        for name, module, attr in self._slots:
            setattr(module, attr, self.quantizer(name)())

    def forward(self, mix_mag: torch.Tensor) -> torch.Tensor:
        self.apply_weights()
        return self.model(mix_mag)

    def layer_names(self) -> list[str]:
        return [name for name, _, _ in self._slots]

    @torch.no_grad()
    def baked(self) -> XUMX:
        """A plain float XUMX holding the quantized weights (what the exported ONNX computes)."""
        m = self.model
        plain = XUMX(hidden=m.hidden, max_bin=m.max_bin, n_layers=m.n_layers, sources=m.sources)
        state = dict(m.state_dict())
        for name, _, _ in self._slots:
            source, rest = name.split(".", 1)
            key = f"branches.{source}.{rest}" if rest.startswith("lstm.") else f"branches.{source}.{rest}.weight"
            state[key] = self.quantizer(name)().detach().clone()
        plain.load_state_dict(state)
        return plain.eval()


STORAGE_WIDTHS = (4, 8, 16)
"""The integer widths a model file can hold its weights in (int4, int8, int16 behind DequantizeLinear): a layer of
b bits takes the smallest of them that is >= b, so 2- and 3-bit layers cost 4 bits on disk and 5- to 7-bit ones 8."""
INT2_STORAGE_WIDTHS = (2,) + STORAGE_WIDTHS
"""With int2 as well (opset 25; export_quantized.py --int2): a 2-bit layer costs 2 bits on disk."""


def storage_bits(bits: torch.Tensor, widths: tuple[int, ...] = STORAGE_WIDTHS) -> torch.Tensor:
    """The stored width of a b-bit layer (the smallest of `widths` >= b); straight-through, so a size penalty on it
    still reaches b (and through it d and qmax)."""
    width = torch.full_like(bits, float(widths[-1]))
    for w in reversed(widths[:-1]):
        width = torch.where(bits <= w, torch.full_like(bits, float(w)), width)
    return bits + (width - bits).detach()


SIZE_MEASURES = ("bits", "storage", "storage-int2")
"""What a size target limits: the learned bits (the paper's S_w), the file's widths (int4/int8/int16), or the file's
widths when 2-bit layers are stored as int2."""


def storage_widths(measure: str) -> tuple[int, ...]:
    return INT2_STORAGE_WIDTHS if measure == "storage-int2" else STORAGE_WIDTHS


def weight_memory_bits(qmodel: QuantizedXUMX, measure: str = "bits") -> torch.Tensor:
    """S_w = sum_l b_l * N_l, in bits; differentiable in the quantizer parameters. measure "storage" counts each
    layer at its stored width instead of b_l: the model file's size, which is what a download costs."""
    if measure not in SIZE_MEASURES:
        raise ValueError(f"measure must be one of {SIZE_MEASURES}, got {measure!r}")
    widths = storage_widths(measure)
    width = (lambda b: storage_bits(b, widths)) if measure != "bits" else (lambda b: b)
    return sum(width(q.step_range_bits()[2]) * q.weight.numel() for q in qmodel.quantizers.values())


def memory_penalty(size_bits: torch.Tensor, target_bits: float, lam: float = 0.1) -> torch.Tensor:
    """The paper's lambda * relu(S_w - T_w)^2, sizes in kilobytes (1024 bytes) as in its code: zero when the
    weights fit the target."""
    kib = lambda bits: bits / 8.0 / 1024.0  # noqa: E731
    return lam * torch.relu(kib(size_bits) - kib(target_bits)) ** 2


def clip_quantizer_grads(qmodel: QuantizedXUMX) -> None:
    for q in qmodel.quantizers.values():
        q.clip_grads()


def clamp_quantizers(qmodel: QuantizedXUMX) -> None:
    for q in qmodel.quantizers.values():
        q.clamp_()


@torch.no_grad()
def bitwidth_log(qmodel: QuantizedXUMX) -> list[dict]:
    """Per layer: name, elements, bits, step, range (the learned bitwidths, for logs and the model card's figure)."""
    rows = []
    for name in qmodel.layer_names():
        q = qmodel.quantizer(name)
        d, qmax, b = q.step_range_bits()
        rows.append(
            {"layer": name, "elements": q.weight.numel(), "bits": int(b), "step": float(d), "range": float(qmax)}
        )
    return rows


def summary(qmodel: QuantizedXUMX, widths: tuple[int, ...] = STORAGE_WIDTHS) -> dict:
    """Weight memory and average bits per weight over the quantized tensors, by learned bits and as stored in
    `widths`."""
    rows = bitwidth_log(qmodel)
    elements = sum(r["elements"] for r in rows)
    bits = sum(r["bits"] * r["elements"] for r in rows)
    stored = sum(min(w for w in widths if w >= r["bits"]) * r["elements"] for r in rows)
    return {
        "weight_elements": elements,
        "weight_bits": bits,
        "weight_bytes": bits / 8.0,
        "bits_per_weight": bits / max(elements, 1),
        "storage_bits": stored,
        "storage_bits_per_weight": stored / max(elements, 1),
    }
