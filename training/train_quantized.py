"""Quantization-aware fine-tuning of X-UMX with a learned bitwidth per weight matrix (Uhlich et al., ICLR 2020).

  /usr/bin/python3 training/train_quantized.py --renders training/data/build/synth --mir1k $W \\
      --from training/runs/bundled.pt --out training/runs/qat --target-bits-per-weight 4 --max-minutes 60
  /usr/bin/python3 training/train_quantized.py ... --resume training/runs/qat/last.pt --max-minutes 60

Every weight matrix gets a (d, qmax) quantizer (xumx/quant.py) initialised from the float checkpoint's weights at
--init-bits with its range fitted to the weight MSE; its bitwidth is inferred from d and qmax. The weights and the
quantizers train together on the Multi-Domain Loss over the Combination Loss's source sets plus the memory penalty
lambda * relu(S_w - T_w)^2 (S_w = sum of bits x elements; T_w = --target-bits-per-weight x elements). Network
gradients are clipped by norm as in train.py; quantizer gradients are clipped to +-d and the quantizer parameters
put back in their box after every step, as in the paper's code.

Writes OUT/last.pt (quantized model, optimizer, step, RNG: --resume continues exactly), OUT/best.pt only for
validations whose weights meet the target (the best validation loss among those; export it with
`export_quantized.py --checkpoint FLOAT --quantized OUT/best.pt`), and OUT/log.jsonl with each validation's size,
penalty and per-layer bitwidths.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import (  # noqa: E402
    add_data_args,
    batch_norms,
    make_samplers,
    rng_state,
    set_rng_state,
    step_loss,
    train_mode,
)
from xumx import checkpoint  # noqa: E402
from xumx.losses import source_combinations  # noqa: E402
from xumx.model import XUMX  # noqa: E402
from xumx.quant import (  # noqa: E402
    PARAMETRIZATIONS,
    SIZE_MEASURES,
    QuantizedXUMX,
    bitwidth_log,
    clamp_quantizers,
    clip_quantizer_grads,
    memory_penalty,
    storage_widths,
    summary,
    weight_memory_bits,
)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_args(ap)
    ap.add_argument("--out", required=True)
    start = ap.add_mutually_exclusive_group(required=True)
    start.add_argument("--from", dest="from_ckpt", help="float checkpoint to start from (weights only is enough)")
    start.add_argument("--resume", help="OUT/last.pt of a quantized run")
    ap.add_argument("--parametrization", choices=PARAMETRIZATIONS, help="default d_qmax; b_qmax with --fixed-bits")
    ap.add_argument("--init-bits", type=int, default=8)
    ap.add_argument(
        "--fixed-bits",
        type=int,
        help="one bitwidth for every layer, kept: only the ranges (and the weights) learn (uniform, learned ranges)",
    )
    ap.add_argument("--init", choices=("max", "mse"), default="mse")
    ap.add_argument(
        "--target-bits-per-weight",
        type=float,
        required=True,
        help="T_w as average bits over the quantized weights (4 = the size of uniform 4-bit)",
    )
    ap.add_argument(
        "--size-by",
        choices=SIZE_MEASURES,
        default="bits",
        help="what the target limits: the learned bits (the paper's S_w) or the stored widths (int4/int8: the file; "
        "storage-int2: 2-bit layers stored as int2, export with export_quantized.py --int2)",
    )
    ap.add_argument("--lam", type=float, default=0.1, help="weight of the memory penalty (sizes in KiB)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--lr", type=float, default=5e-5, help="network weights")
    ap.add_argument("--lr-quant", type=float, default=2e-4, help="quantizer steps, ranges and bitwidths")
    ap.add_argument("--clip-grad", type=float, default=5.0)
    ap.add_argument("--freeze-bn-stats", action="store_true")
    ap.add_argument("--max-minutes", type=float, default=10.0)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--valid-every", type=float, default=300.0, help="seconds between validations")
    ap.add_argument("--valid-batches", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.fixed_bits is not None:
        if args.parametrization not in (None, "b_qmax", "b_d"):
            ap.error("--fixed-bits needs --parametrization b_qmax or b_d (a bitwidth to hold)")
        args.parametrization = args.parametrization or "b_qmax"
        args.init_bits = args.fixed_bits
    args.parametrization = args.parametrization or "d_qmax"
    return args


def build(args, device) -> tuple[QuantizedXUMX, dict]:
    """The quantized network and, when resuming, the checkpoint it came from."""
    source = checkpoint.load(args.resume or args.from_ckpt, device)
    cfg = source["config"]
    model = XUMX(hidden=cfg["hidden"], max_bin=cfg["max_bin"], n_layers=cfg["n_layers"], sources=tuple(cfg["sources"]))
    if args.resume:
        qmodel = QuantizedXUMX(model, source["args"]["parametrization"], source["args"]["init_bits"], "max")
        qmodel.load_state_dict(source["model"])
        hold_bitwidths(qmodel, source["args"].get("fixed_bits"))
        return qmodel.to(device), source
    model.load_state_dict(source["model"])
    qmodel = QuantizedXUMX(model, args.parametrization, args.init_bits, args.init)
    hold_bitwidths(qmodel, args.fixed_bits)
    return qmodel.to(device), {}


def hold_bitwidths(qmodel: QuantizedXUMX, fixed_bits) -> None:
    """With a fixed bitwidth the quantizers' b is no parameter to learn (the optimizer never sees it)."""
    if fixed_bits is None:
        return
    for q in qmodel.quantizers.values():
        q.b.requires_grad_(False)


def save(path, qmodel, opt, step, elapsed, best, g, args, extra=None):
    tmp = path + ".tmp"
    torch.save(
        {
            "model": qmodel.state_dict(),
            "optimizer": opt.state_dict(),
            "step": step,
            "elapsed_s": elapsed,
            "best_valid": best,
            "rng": rng_state(g),
            "config": qmodel.model.config(),
            "args": vars(args),
            **(extra or {}),
        },
        tmp,
    )
    os.replace(tmp, path)


def main(argv=None) -> int:
    args = parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
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

    train_sampler, valid_sampler, _ = make_samplers(args, device)
    qmodel, resumed = build(args, device)
    if resumed:  # the run's own settings, not this command line's, define what it optimises
        for key in ("parametrization", "init_bits", "fixed_bits", "target_bits_per_weight", "lam", "size_by"):
            setattr(args, key, resumed["args"].get(key, "bits" if key == "size_by" else None))
    frozen_norms = batch_norms(qmodel) if args.freeze_bn_stats else []
    quant_params = [
        p
        for n, p in qmodel.named_parameters()
        if n.startswith("quantizers.") and not n.endswith(".weight") and p.requires_grad
    ]
    ids = {id(p) for p in quant_params}
    net_params = [p for p in qmodel.parameters() if id(p) not in ids and p.requires_grad]
    opt = torch.optim.Adam([{"params": net_params, "lr": args.lr}, {"params": quant_params, "lr": args.lr_quant}])
    g = torch.Generator().manual_seed(args.seed)
    step, elapsed_before, best = 0, 0.0, float("inf")
    if resumed:
        opt.load_state_dict(resumed["optimizer"])
        step, elapsed_before, best = resumed["step"], resumed["elapsed_s"], resumed["best_valid"]
        set_rng_state(resumed["rng"], g)
        emit(event="resume", step=step, elapsed_s=elapsed_before)
    elements = summary(qmodel)["weight_elements"]
    target_bits = args.target_bits_per_weight * elements
    emit(
        event="model",
        quantized_weights=elements,
        target_bits_per_weight=args.target_bits_per_weight,
        size_by=args.size_by,
        **{
            k: round(v, 4)
            for k, v in summary(qmodel, storage_widths(args.size_by)).items()
            if k.endswith("bits_per_weight")
        },
    )

    combos = source_combinations(len(qmodel.model.sources))
    nocast = contextlib.nullcontext
    valid_batches = [
        valid_sampler.batch(args.batch, torch.Generator().manual_seed(10_000 + i)) for i in range(args.valid_batches)
    ]

    def validate() -> float:
        qmodel.eval()
        with torch.no_grad():
            total = sum(float(step_loss(qmodel, m, s, k, combos, nocast)[0]) for m, s, k in valid_batches)
        train_mode(qmodel, frozen_norms)
        return total / len(valid_batches)

    start = last_valid = time.time()
    deadline = start + args.max_minutes * 60
    first_step, window_loss, window_n = step, 0.0, 0
    train_mode(qmodel, frozen_norms)
    while time.time() < deadline and not (args.max_steps and step >= args.max_steps):
        mix, stems, known = train_sampler.batch(args.batch, g)
        task, _ = step_loss(qmodel, mix, stems, known, combos, nocast)
        penalty = memory_penalty(weight_memory_bits(qmodel, args.size_by), target_bits, args.lam)
        opt.zero_grad(set_to_none=True)
        (task + penalty).backward()
        torch.nn.utils.clip_grad_norm_(net_params, args.clip_grad)
        clip_quantizer_grads(qmodel)
        opt.step()
        clamp_quantizers(qmodel)
        step += 1
        window_loss += float(task.detach())
        window_n += 1
        now = time.time()
        if now - last_valid >= args.valid_every or now >= deadline or (args.max_steps and step >= args.max_steps):
            v = validate()
            size = summary(qmodel, storage_widths(args.size_by))
            size_bits = size["weight_bits" if args.size_by == "bits" else "storage_bits"]
            meets = size_bits <= target_bits
            elapsed = elapsed_before + now - start
            emit(
                event="valid",
                step=step,
                train_loss=round(window_loss / window_n, 5),
                valid_loss=round(v, 5),
                penalty=round(float(memory_penalty(torch.tensor(float(size_bits)), target_bits, args.lam)), 5),
                bits_per_weight=round(size["bits_per_weight"], 4),
                storage_bits_per_weight=round(size["storage_bits_per_weight"], 4),
                weight_mb=round(size["weight_bytes"] / 1e6, 3),
                meets_target=meets,
                elapsed_s=round(elapsed, 1),
                layers={r["layer"]: r["bits"] for r in bitwidth_log(qmodel)},
            )
            window_loss, window_n, last_valid = 0.0, 0, time.time()
            if meets and v < best:  # only a network of the size asked for may become the result
                best = v
                save(
                    os.path.join(args.out, "best.pt"),
                    qmodel,
                    opt,
                    step,
                    elapsed,
                    best,
                    g,
                    args,
                    {"bitwidths": bitwidth_log(qmodel)},
                )
            save(os.path.join(args.out, "last.pt"), qmodel, opt, step, elapsed, best, g, args)
    emit(
        event="done",
        step=step,
        best_valid=best,
        steps_this_run=step - first_step,
        elapsed_s=round(elapsed_before + time.time() - start, 1),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
