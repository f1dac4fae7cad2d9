"""Train X-UMX on a training pack (training/data/pack.py) with the paper's losses; resumable, wall-clock bounded.

  python3 training/train.py --pack .carry/xumx-data --out training/runs/r1 --hidden 240 --max-minutes 8.5
  python3 training/train.py --pack ... --out training/runs/r1 --resume training/runs/r1/last.pt --max-minutes 8

Runs on CPU (torch 1.13) and CUDA (torch 2.x; --amp uses bfloat16 autocast for the network there).

Writes OUT/last.pt (model, optimizer, scheduler, step, RNG states; with --ema also the averaged weights), OUT/best.pt
(best validation loss) and OUT/log.jsonl (one line per log/validation event).
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import random
import re
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xumx import checkpoint  # noqa: E402
from xumx.losses import band_weights, multi_domain_loss, source_combinations  # noqa: E402
from xumx.model import N_BINS, XUMX, count_parameters  # noqa: E402
from xumx.packdata import RATE, MixSampler, Pack  # noqa: E402
from xumx.transforms import stft  # noqa: E402


def add_data_args(ap: argparse.ArgumentParser) -> None:
    """Where the mixtures come from and how they are made (shared with train_quantized.py)."""
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--pack", help="training pack folder (training/data/pack.py)")
    src.add_argument("--renders", help="rendered songs folder: train from the lossless WAVs (with --mir1k)")
    ap.add_argument("--mir1k", help="MIR-1K Wavfile folder, with --renders")
    ap.add_argument(
        "--seconds-per-song",
        type=float,
        default=8.0,
        help="with --renders: how much of each training song is loaded (one excerpt; two for the long "
        "MIDI songs); validation songs always give 8 s",
    )
    ap.add_argument("--p-lowpass", type=float, default=0.25, help="share of mixtures low-passed at 7-16 kHz")
    ap.add_argument(
        "--p-karaoke",
        type=float,
        default=0.0,
        help="share of mixtures over a MIR-1K clip's own karaoke track (--renders with --mir1k only): "
        "real recorded accompaniment, scored on vocals and on bass+drums+other as one sum",
    )
    ap.add_argument(
        "--p-voicelead",
        type=float,
        default=0.0,
        help="share of the other mixtures whose vocals are a training song's voice lead (a melody on a "
        "GM voice, data/voicelead.py) instead of MIR-1K singing: full-band, augmentation only",
    )
    ap.add_argument(
        "--p-instrlead",
        type=float,
        default=0.0,
        help="share of mixtures with a lead instrument's melody (instrlead.wav, --renders only) added to "
        '"other": a singer-like line that is not a voice',
    )
    ap.add_argument(
        "--vocal-level-db",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        help="set each mixture's vocals this many dB (uniform in LO..HI) from the rest of the mixture "
        "instead of a random gain like the other stems (which centres them near -6 dB)",
    )
    ap.add_argument(
        "--band-weight",
        type=float,
        nargs=3,
        metavar=("LO_HZ", "HI_HZ", "W"),
        help="count the frequency-domain loss W times in LO_HZ..HI_HZ (e.g. 1000 4000 4: where the "
        "vocals' upper harmonics are lost); the time-domain loss is unchanged",
    )


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_args(ap)
    ap.add_argument("--out", required=True)
    ap.add_argument("--hidden", type=int, default=240)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=6.0, help="length of one training excerpt")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument(
        "--warmup-steps",
        type=int,
        default=0,
        help="raise the learning rate linearly from 0 over this many steps of this run: a warm start "
        "with a fresh Adam otherwise moves every weight by about lr per step at first, whatever "
        "its gradient",
    )
    ap.add_argument("--weight-decay", type=float, default=1e-5)
    ap.add_argument("--clip-grad", type=float, default=5.0)
    ap.add_argument("--max-minutes", type=float, default=10.0, help="wall-clock budget of this run")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps in total (0: no limit)")
    ap.add_argument("--valid-every", type=float, default=45.0, help="seconds between validations")
    ap.add_argument("--valid-batches", type=int, default=4)
    ap.add_argument("--patience", type=int, default=3, help="validations without improvement before lowering lr")
    ap.add_argument(
        "--snapshots",
        action="store_true",
        help="also keep the weights at every validation (OUT/step-N.pt), to choose one afterwards by "
        "evaluate.py --held-out valid: a few validation batches choose poorly on CPU-sized runs",
    )
    ap.add_argument(
        "--ema",
        type=float,
        default=0.0,
        help="keep an exponential moving average of the weights with this decay per step (e.g. 0.99; 0: "
        "off); validation, best.pt and snapshots then use the averaged weights, last.pt keeps both",
    )
    ap.add_argument(
        "--train-only",
        default=None,
        metavar="REGEX",
        help="train only the parameters whose names match, e.g. "
        "'branches\\.vocals\\.(fc2|bn2|fc3|bn3|output)': the rest stay exactly as they are, "
        "batch-norm statistics included",
    )
    ap.add_argument(
        "--freeze-bn-stats",
        action="store_true",
        help="keep every batch-norm layer in eval mode while training: normalise with the running "
        "statistics and leave them as they are (for fine-tuning with small batches)",
    )
    ap.add_argument("--resume")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--amp", action="store_true", help="bfloat16 autocast for the network on CUDA")
    return ap.parse_args(argv)


def make_samplers(args, device) -> tuple[MixSampler, MixSampler, Pack]:
    """(training sampler, validation sampler, validation pack) from the data options of add_data_args."""

    def load(split):
        if args.pack:
            return Pack(args.pack, split, device)
        return Pack.from_renders(
            args.renders, args.mir1k, split, device, seconds_per_song=args.seconds_per_song if split == "train" else 8.0
        )

    train_sampler = MixSampler(
        load("train"),
        seconds=args.seconds,
        p_lowpass=args.p_lowpass,
        p_karaoke=args.p_karaoke,
        p_voicelead=args.p_voicelead,
        p_instrlead=args.p_instrlead,
        vocal_level_db=tuple(args.vocal_level_db) if args.vocal_level_db else None,
    )
    valid_pack = load("valid")
    # validation mixtures put the vocals where training does: with the default gains they sit near -6 dB, and a
    # validation loss over those got worse while the held-out vocals (at 0 dB) improved
    valid_sampler = (
        MixSampler(valid_pack, seconds=args.seconds, vocal_level_db=train_sampler.vocal_level_db)
        if valid_pack.songs
        else train_sampler
    )
    return train_sampler, valid_sampler, valid_pack


def input_statistics(sampler: MixSampler, device, batches: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bin mean and std of mixture magnitudes: the initial input normalisation (as Open-Unmix does)."""
    g = torch.Generator().manual_seed(1234)
    mags = []
    for _ in range(batches):
        mix, _, _ = sampler.batch(8, g)
        mags.append(stft(mix.to(device)).abs().permute(0, 1, 3, 2).reshape(-1, 2049))
    m = torch.cat(mags)
    return m.mean(0).cpu(), m.std(0).cpu()


def step_loss(model, mix, stems, known, combos, autocast, bin_weight=None):
    mix_spec = stft(mix)
    target_mag = stft(stems).abs()
    with autocast():
        est = model(mix_spec.abs())
    return multi_domain_loss(est.float(), target_mag, stems, mix_spec, mix, combos, known=known, bin_weight=bin_weight)


def rng_state(g: torch.Generator) -> dict:
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
        "sampler": g.get_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def set_rng_state(state: dict, g: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    g.set_state(state["sampler"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def batch_norms(model: torch.nn.Module) -> list[torch.nn.Module]:
    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def freeze_all_but(model: torch.nn.Module, pattern: str) -> list[torch.nn.Module]:
    """Leave only the parameters whose names match `pattern` trainable. Returns the batch-norm layers with no
    trainable parameter: train_mode keeps them in eval mode, so their running statistics stay as they were too."""
    regex = re.compile(pattern)
    names = {n for n, _ in model.named_parameters() if regex.search(n)}
    if not names:
        raise SystemExit(f"--train-only {pattern!r} matches no parameter")
    for n, p in model.named_parameters():
        p.requires_grad_(n in names)
    return [m for m in batch_norms(model) if not any(p.requires_grad for p in m.parameters())]


def train_mode(model: torch.nn.Module, frozen_norms: list[torch.nn.Module]) -> None:
    model.train()
    for m in frozen_norms:
        m.eval()


class WeightAverage:
    """Exponential moving average of a model's parameters and batch-norm statistics (integer counters are copied).

    Small-batch training moves the weights noisily from step to step; the average over the last ~1/(1-decay) steps
    is a steadier model than the weights at any one step."""

    def __init__(self, model: torch.nn.Module, decay: float, state: dict | None = None):
        self.decay = decay
        self.state = {k: v.detach().clone() for k, v in (state or model.state_dict()).items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for k, v in model.state_dict().items():
            if v.is_floating_point():
                self.state[k].mul_(self.decay).add_(v.detach(), alpha=1.0 - self.decay)
            else:
                self.state[k].copy_(v)


def save(path, model, opt, sched, step, elapsed, best, g, args, info, ema=None):
    tmp = path + ".tmp"
    extra = {"ema": ema.state} if ema is not None else {}
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "step": step,
            "elapsed_s": elapsed,
            "best_valid": best,
            "rng": rng_state(g),
            "config": model.config(),
            "args": vars(args),
            "info": info,
            **extra,
        },
        tmp,
    )
    os.replace(tmp, path)


def main(argv=None) -> int:
    args = parse_args(argv)
    device = torch.device(
        "cuda"
        if args.device == "auto" and torch.cuda.is_available()
        else ("cpu" if args.device == "auto" else args.device)
    )
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "log.jsonl"), "a")

    def emit(**event):
        line = json.dumps(event)
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    t_load = time.time()
    train_sampler, valid_sampler, valid_pack = make_samplers(args, device)
    emit(
        event="data",
        load_s=round(time.time() - t_load, 1),
        train_songs=len(train_sampler.pack.songs),
        train_vocal_clips=len(train_sampler.pack.clips),
        train_voice_leads=len(train_sampler.pack.leads),
        valid_songs=len(valid_pack.songs),
    )

    if args.resume:  # the checkpoint decides the architecture
        args.hidden = checkpoint.load(args.resume)["config"]["hidden"]
    model = XUMX(hidden=args.hidden).to(device)
    frozen_norms = freeze_all_but(model, args.train_only) if args.train_only else []
    if args.freeze_bn_stats:
        frozen_norms = batch_norms(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(trainable, lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.3, patience=args.patience)
    g = torch.Generator().manual_seed(args.seed)
    step, elapsed_before, best = 0, 0.0, float("inf")
    info = {"provenance": "synthetic multitracks (mma + Debian MIDI songs via fluidsynth) and MIR-1K singing"}
    if args.resume:
        ckpt = checkpoint.load(args.resume, device)
        model.load_state_dict(ckpt["model"])
        step, elapsed_before = ckpt.get("step", 0), ckpt.get("elapsed_s", 0.0)  # 0 for one from onnx_to_checkpoint
        if "optimizer" in ckpt:  # a full checkpoint resumes exactly; a weights-only one warm-starts
            opt.load_state_dict(ckpt["optimizer"])
            sched.load_state_dict(ckpt["scheduler"])
            best = ckpt["best_valid"]
            set_rng_state(ckpt["rng"], g)
        info = ckpt.get("info", info)
        emit(event="resume", step=step, elapsed_s=elapsed_before)
    else:
        mean, std = input_statistics(train_sampler, device)
        model.set_input_stats(mean.to(device), std.to(device))
    ema = None
    if args.ema > 0:  # resuming a full checkpoint continues its average; otherwise it starts from the weights
        ema = WeightAverage(model, args.ema, ckpt.get("ema") if args.resume and "optimizer" in ckpt else None)
        averaged = copy.deepcopy(model).eval()
    emit(event="model", parameters=count_parameters(model), hidden=args.hidden, device=str(device))

    combos = source_combinations(len(model.sources))
    bin_weight = band_weights(N_BINS, RATE, *args.band_weight).to(device) if args.band_weight else None
    use_amp = args.amp and device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_amp else contextlib.nullcontext
    valid_batches = [
        valid_sampler.batch(args.batch, torch.Generator().manual_seed(10_000 + i)) for i in range(args.valid_batches)
    ]

    def evaluated() -> torch.nn.Module:
        """The weights that validation scores and best.pt / snapshots keep: the running average when there is one."""
        if ema is None:
            return model
        averaged.load_state_dict(ema.state)
        return averaged

    def validate() -> float:
        net = evaluated().eval()
        with torch.no_grad():
            total = sum(float(step_loss(net, m, s, k, combos, autocast, bin_weight)[0]) for m, s, k in valid_batches)
        train_mode(model, frozen_norms)
        return total / len(valid_batches)

    start = time.time()
    last_valid = start
    deadline = start + args.max_minutes * 60
    samples, window_loss, window_n, first_step = 0, 0.0, 0, step
    train_mode(model, frozen_norms)
    while time.time() < deadline and not (args.max_steps and step >= args.max_steps):
        mix, stems, known = train_sampler.batch(args.batch, g)
        loss, parts = step_loss(model, mix, stems, known, combos, autocast, bin_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, args.clip_grad)
        if step - first_step < args.warmup_steps:
            for group in opt.param_groups:
                group["lr"] = args.lr * (step - first_step + 1) / args.warmup_steps
        opt.step()
        if ema is not None:
            ema.update(model)
        step += 1
        samples += args.batch
        window_loss += float(loss.detach())
        window_n += 1
        now = time.time()
        if now - last_valid >= args.valid_every or now >= deadline or (args.max_steps and step >= args.max_steps):
            v = validate()
            sched.step(v)
            elapsed = elapsed_before + now - start
            emit(
                event="valid",
                step=step,
                train_loss=round(window_loss / window_n, 5),
                valid_loss=round(v, 5),
                lr=opt.param_groups[0]["lr"],
                samples_per_s=round(samples / (now - start), 1),
                elapsed_s=round(elapsed, 1),
                **{k: round(x, 5) for k, x in parts.items()},
            )
            window_loss, window_n, last_valid = 0.0, 0, time.time()
            if v < best:
                best = v
                save(os.path.join(args.out, "best.pt"), evaluated(), opt, sched, step, elapsed, best, g, args, info)
            save(os.path.join(args.out, "last.pt"), model, opt, sched, step, elapsed, best, g, args, info, ema)
            if args.snapshots:
                torch.save(
                    checkpoint.weights_only(
                        {
                            "model": evaluated().state_dict(),
                            "config": model.config(),
                            "step": step,
                            "elapsed_s": elapsed,
                            "best_valid": best,
                            "args": vars(args),
                            "info": info,
                        }
                    ),
                    os.path.join(args.out, f"step-{step:06d}.pt"),
                )
    emit(
        event="done",
        step=step,
        best_valid=best,
        elapsed_s=round(elapsed_before + time.time() - start, 1),
        samples=samples,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
