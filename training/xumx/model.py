"""X-UMX (CrossNet-Open-Unmix, arXiv 2010.04228) with the parameter semantics of Sony's OpenUnmix_CrossNet.

Shapes follow the engine contract: the network takes the mixture magnitude [batch, 2, 2049, frames] and returns
magnitude estimates [4, batch, 2, 2049, frames] in SOURCES order. Internally the time axis comes first
([frames, batch, channels, bins]) as in the reference, so every fully connected layer sees frames*batch rows.

Parameter semantics kept from the reference so official weights map one to one (issue 4):
- input_mean is *added* (it stores -mean) and input_scale *multiplied* (it stores 1/std), per source, over the
  first max_bin bins;
- fc1/fc2/fc3 have no bias, each followed by batch norm (eps 1e-5) over the feature axis;
- the LSTM skip concatenates each source's own fc1 output with its LSTM output, then the four are averaged;
- output_scale multiplies, then output_mean (initialised to 1) is added, then ReLU gives the mask.
"""
from __future__ import annotations

import torch
from torch import nn

SOURCES = ("bass", "drums", "vocals", "other")
N_FFT = 4096
HOP = 1024
N_BINS = N_FFT // 2 + 1  # 2049
MAX_BIN = 1487  # bins below ~16 kHz at 44.1 kHz / 4096
N_CHANNELS = 2


class SourceBranch(nn.Module):
    """The per-source weights of X-UMX: normalisation, encoder, BLSTM and decoder of one source."""

    def __init__(self, hidden: int, max_bin: int, n_layers: int, dropout: float):
        super().__init__()
        self.input_mean = nn.Parameter(torch.zeros(max_bin))
        self.input_scale = nn.Parameter(torch.ones(max_bin))
        self.fc1 = nn.Linear(N_CHANNELS * max_bin, hidden, bias=False)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.lstm = nn.LSTM(
            hidden, hidden // 2, num_layers=n_layers, bidirectional=True, dropout=dropout if n_layers > 1 else 0.0
        )
        self.fc2 = nn.Linear(hidden * 2, hidden, bias=False)
        self.bn2 = nn.BatchNorm1d(hidden)
        self.fc3 = nn.Linear(hidden, N_CHANNELS * N_BINS, bias=False)
        self.bn3 = nn.BatchNorm1d(N_CHANNELS * N_BINS)
        self.output_scale = nn.Parameter(torch.ones(N_BINS))
        self.output_mean = nn.Parameter(torch.ones(N_BINS))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """[frames, batch, 2, max_bin] cropped magnitude -> [frames, batch, hidden]."""
        frames, batch = x.shape[0], x.shape[1]
        x = (x + self.input_mean) * self.input_scale
        y = self.fc1(x.reshape(frames * batch, -1))
        return torch.tanh(self.bn1(y)).reshape(frames, batch, -1)

    def decode(self, cross: torch.Tensor) -> torch.Tensor:
        """[frames, batch, 2*hidden] -> mask [frames, batch, 2, 2049]."""
        frames, batch = cross.shape[0], cross.shape[1]
        y = torch.relu(self.bn2(self.fc2(cross.reshape(frames * batch, -1))))
        y = self.bn3(self.fc3(y)).reshape(frames, batch, N_CHANNELS, N_BINS)
        return torch.relu(y * self.output_scale + self.output_mean)


class XUMX(nn.Module):
    """X-UMX over magnitude spectrograms. forward: [batch, 2, 2049, frames] -> [4, batch, 2, 2049, frames]."""

    def __init__(
        self,
        hidden: int = 512,
        max_bin: int = MAX_BIN,
        n_layers: int = 3,
        dropout: float = 0.4,
        sources: tuple[str, ...] = SOURCES,
    ):
        super().__init__()
        if hidden % 2:
            raise ValueError(f"hidden size must be even (two LSTM directions), got {hidden}")
        self.hidden = hidden
        self.max_bin = max_bin
        self.n_layers = n_layers
        self.sources = tuple(sources)
        self.branches = nn.ModuleDict({s: SourceBranch(hidden, max_bin, n_layers, dropout) for s in self.sources})

    def config(self) -> dict:
        return {
            "hidden": self.hidden,
            "max_bin": self.max_bin,
            "n_layers": self.n_layers,
            "sources": list(self.sources),
        }

    def set_input_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Initialise every source's input normalisation from mixture statistics over the first max_bin bins."""
        with torch.no_grad():
            for b in self.branches.values():
                b.input_mean.copy_(-mean[: self.max_bin])
                b.input_scale.copy_(1.0 / std[: self.max_bin].clamp_min(1e-4))

    def forward(self, mix_mag: torch.Tensor) -> torch.Tensor:
        mix = mix_mag.permute(3, 0, 1, 2)  # [frames, batch, 2, 2049]
        cropped = mix[..., : self.max_bin]
        branches = list(self.branches.values())
        encoded = [b.encode(cropped) for b in branches]
        cross_1 = sum(encoded) / len(branches)
        skips = [torch.cat([enc, b.lstm(cross_1)[0]], dim=-1) for enc, b in zip(encoded, branches)]
        cross_2 = sum(skips) / len(branches)
        masks = torch.stack([b.decode(cross_2) for b in branches])  # [4, frames, batch, 2, 2049]
        est = masks * mix.unsqueeze(0)
        return est.permute(0, 2, 3, 4, 1)  # [4, batch, 2, 2049, frames]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
