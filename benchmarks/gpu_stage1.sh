#!/usr/bin/env bash
# Stage-1 synthetic pre-training of ResNet-50 on one GPU, for a fixed wall-clock budget.
#
# The paper's setting: ResNet-50 from scratch, 16 scenes x k=4 versions x 2 crops = 128
# crops per step, Adam lr 1e-2, intra-scene InfoNCE (tau 0.1), bf16 autocast. First a
# short throughput probe (data pipeline with distortions in the DataLoader workers vs
# batched on the GPU, and the model step alone), then training for MINUTES with the
# faster data mode, then crops/s.
#
# usage: bash benchmarks/gpu_stage1.sh PRISTINE_DIR [MINUTES]
#   PRISTINE_DIR  folder of pristine images (e.g. a carried scratch/pristine_small/)
#   MINUTES       training budget in minutes (default 5); the probe adds ~1.5 minutes
# environment (all optional):
#   OUT            where the results go (default scratch/gpu_stage1_out)
#   DEVICE         cuda (default) or cpu (to try the script on a machine without a GPU)
#   ENCODER        resnet50 (default)
#   WORKERS        DataLoader workers (default: CPU cores - 2, at most 15)
#   PROBE_SECONDS  seconds per probe measurement (default 20; 0 skips the probe)
#   DISTORT_ON     workers | device | auto (default auto: the mode with the probe's best
#                  estimated training rate, see benchmarks/bench_train.py)
#   EXTRA          extra options for `train synthetic` (e.g. "--work-size 128 --scenes-per-batch 2")
#   RUN_DIR        the run directory (default /tmp/stage1_run; checkpoint.pt is large)
# Runs from the repository root with PYTHONPATH=. (no pip install; only torch, numpy,
# scipy, pillow and tqdm are needed). Writes 8 files under $OUT (the device tool brings
# back at most 8): log.txt (everything printed, the probe's JSON lines included) and
# stage1/{config.json,log.csv,summary.json,encoder.fp16.pt.part00..03}; join the parts with
# `cat encoder.fp16.pt.part* > encoder.pt` (a state dict, float16 where it fits, usable
# with `blindiqa fit-pristine --encoder resnet50 --encoder-checkpoint encoder.pt`).
set -uo pipefail

IMAGES=${1:?usage: bash benchmarks/gpu_stage1.sh PRISTINE_DIR [MINUTES]}
MINUTES=${2:-5}
OUT=${OUT:-scratch/gpu_stage1_out}
DEVICE=${DEVICE:-cuda}
ENCODER=${ENCODER:-resnet50}
PROBE_SECONDS=${PROBE_SECONDS:-20}
DISTORT_ON=${DISTORT_ON:-auto}
EXTRA=${EXTRA:-}
RUN_DIR=${RUN_DIR:-/tmp/stage1_run}
BENCH_JSON=${RUN_DIR%/}.bench.json
cores=$(nproc 2>/dev/null || echo 2)
default_workers=$(( cores - 2 )); (( default_workers > 15 )) && default_workers=15
(( default_workers < 1 )) && default_workers=1
WORKERS=${WORKERS:-$default_workers}
PY=${PYTHON:-$(command -v python3 || command -v python)}

export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT/stage1"

main() {
echo "== gpu_stage1: images=$IMAGES minutes=$MINUTES device=$DEVICE encoder=$ENCODER workers=$WORKERS"
date -u +%FT%TZ
nvidia-smi -L 2>/dev/null || true
df -h /dev/shm 2>/dev/null | tail -1 || true
"$PY" -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
n_images=$(find "$IMAGES" -type f | wc -l)
echo "images: $n_images files"

# 1. probe: which data mode keeps up, and how fast the model step alone is
mode=$DISTORT_ON
if [[ "$PROBE_SECONDS" != "0" ]]; then
  # shellcheck disable=SC2086
  "$PY" benchmarks/bench_train.py --images "$IMAGES" --encoder "$ENCODER" --device "$DEVICE" \
      --workers "$WORKERS" --seconds "$PROBE_SECONDS" --parts data,model \
      --distort-on workers,device --json "$BENCH_JSON" \
      $(echo "$EXTRA" | grep -oE -- '--(work-size|crop|k|scenes-per-batch) [0-9]+' | tr '\n' ' ')
  echo "probe exit code $?"
  if [[ "$mode" == "auto" ]]; then
    mode=$("$PY" -c "import json; r=json.load(open('$BENCH_JSON')); print(r['best_distort_on'])" 2>/dev/null || echo workers)
    # every data probe failed (e.g. too little shared memory for workers): no workers
    if "$PY" -c "import json,sys; r=json.load(open('$BENCH_JSON')); sys.exit(any('crops_per_s' in x for x in r['results'] if x['part']=='data'))" 2>/dev/null; then
      echo "data probes failed: training with --workers 0"; WORKERS=0
    fi
  fi
fi
[[ "$mode" == "auto" ]] && mode=workers
echo "== training with --distort-on $mode --workers $WORKERS for $MINUTES minutes"

# 2. training for the budget (one long epoch: checkpoints only every 2000 steps and at the end)
rm -rf "$RUN_DIR"
# shellcheck disable=SC2086
"$PY" -m blindiqa.cli.train synthetic --images "$IMAGES" --encoder "$ENCODER" --init random \
    --out "$RUN_DIR" --objective infonce --scenes-per-batch 16 --k 4 --lr 1e-2 --epochs 1 \
    --steps-per-epoch 1000000 --max-minutes "$MINUTES" --checkpoint-every 2000 \
    --device "$DEVICE" --workers "$WORKERS" --distort-on "$mode" --seed 0 $EXTRA
status=$?
echo "train exit code $status"

# 3. results: small files, the encoder in float16 split into parts under 16 MiB
cp "$RUN_DIR"/config.json "$RUN_DIR"/log.csv "$RUN_DIR"/summary.json "$OUT/stage1/" 2>/dev/null
if [[ -f "$RUN_DIR/encoder.pt" ]]; then
  "$PY" - "$RUN_DIR/encoder.pt" "$OUT/stage1" <<'PYEOF'
import sys
from pathlib import Path

import torch

from blindiqa.train.checkpoint import save_encoder

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
state = torch.load(src, map_location="cpu", weights_only=True)
half = dst / "encoder.fp16.pt"
save_encoder(half, state, half=True)
data = half.read_bytes()
half.unlink()
part = 15 * 2**20
for i in range(0, len(data), part):
    (dst / f"encoder.fp16.pt.part{i // part:02d}").write_bytes(data[i:i + part])
print(f"encoder: {len(data) / 2**20:.1f} MiB in float16, {(len(data) + part - 1) // part} parts")
PYEOF
fi

# 4. crops/s
"$PY" - "$RUN_DIR" <<'PYEOF'
import csv
import json
import sys
from pathlib import Path

run = Path(sys.argv[1])
summary = json.loads((run / "summary.json").read_text())
per_step = json.loads((run / "config.json").read_text())["crops_per_step"]
rows = list(csv.DictReader((run / "log.csv").open()))
steady = rows[len(rows) // 10:] or rows
data_wait = sum(float(r["data_s"]) for r in steady) / (sum(float(r["step_s"]) for r in steady) or 1.0)
print(f"== {summary.get('gpu', summary['device'])}: {summary['step']} steps in "
      f"{summary['wall_s']:.0f} s, {summary['crops_per_s']:.0f} crops/s "
      f"({summary['crops_per_s'] / per_step:.1f} steps/s of {per_step} crops); waiting for data "
      f"{100 * data_wait:.0f}% of the time; loss {rows[0]['loss']} -> {rows[-1]['loss']}; "
      f"stopped: {summary['stopped']}; max GPU memory {summary.get('max_memory_gib')} GiB")
PYEOF
ls -la "$OUT" "$OUT/stage1"
return $status
}

main 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"
