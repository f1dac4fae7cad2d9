#!/usr/bin/env bash
# One training run on the GPU machine (or, with a tiny configuration, on any CPU to test this script):
# train on the carried pack for a wall-clock budget, check the result on the pack's validation mixtures, and leave
# weights-only checkpoint parts, logs and the evaluation in $OUT (at most 8 files of <= 16 MiB come back).
#
#   OUT=/tmp/out XUMX_MINUTES=7.5 bash training/gpu/run.sh
#   tiny CPU check: OUT=/tmp/out XUMX_MINUTES=0.2 XUMX_HIDDEN=16 XUMX_BATCH=2 XUMX_SECONDS=2 bash training/gpu/run.sh
#
# XUMX_P_KARAOKE (default 0.3): share of mixtures over MIR-1K karaoke tracks, when the pack has them.
# XUMX_VOCAL_LEVEL_DB (default "-12 4", as the bundled model's last fine-tune): the vocals' level against the rest of
# each mixture, uniform in that range (train.py --vocal-level-db); "off" gives the vocals a random gain like every
# other stem.
# Resume: put a checkpoint's parts under .carry/resume/ (named <prefix>.partNN) and set XUMX_RESUME=<prefix>.
# Or warm-start from a bundled model, which travels with the repository anyway:
# XUMX_FROM_ONNX=models/xumx-studio-small/model.onnx (with XUMX_TRAIN_ARGS="--lr 3e-4 --warmup-steps 200", say).
# XUMX_TRAIN_ARGS: more train.py options (e.g. --ema 0.999).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
PACK=${XUMX_PACK:-.carry/xumx-data}
OUT=${OUT:?set OUT to the folder for results}
RUN=${XUMX_RUN_DIR:-/tmp/xumx-run}
mkdir -p "$OUT" "$RUN"
export PYTHONUNBUFFERED=1

{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"; \
  $PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'; } | tee "$OUT/machine.txt"

RESUME_ARGS=()
LEVEL_ARGS=()
LEVEL=${XUMX_VOCAL_LEVEL_DB:--12 4}
if [ "$LEVEL" != off ]; then
  # shellcheck disable=SC2206
  LEVEL_ARGS=(--vocal-level-db $LEVEL)
fi
if [ -n "${XUMX_FROM_ONNX:-}" ]; then
  $PY training/onnx_to_checkpoint.py --onnx "$XUMX_FROM_ONNX" --out "$RUN/from-onnx.pt"
  RESUME_ARGS=(--resume "$RUN/from-onnx.pt")
fi
if [ -n "${XUMX_RESUME:-}" ]; then
  $PY training/checkpoint_parts.py join ".carry/resume/$XUMX_RESUME" "$RUN/resume.pt"
  RESUME_ARGS=(--resume "$RUN/resume.pt")
fi

# a crash late in training still leaves its last validated checkpoint to bring back
set +e
# shellcheck disable=SC2086
$PY training/train.py --pack "$PACK" --out "$RUN" --hidden "${XUMX_HIDDEN:-240}" --batch "${XUMX_BATCH:-16}" \
  --seconds "${XUMX_SECONDS:-6}" --max-minutes "${XUMX_MINUTES:-7.5}" --valid-every "${XUMX_VALID_EVERY:-45}" \
  --p-karaoke "${XUMX_P_KARAOKE:-0.3}" "${LEVEL_ARGS[@]}" \
  "${RESUME_ARGS[@]}" ${XUMX_TRAIN_ARGS:-} 2>&1 | tee "$OUT/train.log"
set -e
[ -f "$RUN/best.pt" ] || { echo "training left no checkpoint"; exit 1; }
$PY training/checkpoint_parts.py split "$RUN/best.pt" "$OUT/xumx-best"
$PY training/evaluate.py --checkpoint "$RUN/best.pt" --pack "$PACK" --split valid \
  --batches "${XUMX_EVAL_BATCHES:-4}" --out "$OUT/eval-valid.json" > /dev/null || echo "evaluation failed"
ls -la "$OUT"
