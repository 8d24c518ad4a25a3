#!/usr/bin/env bash
# Issue #11's GPU checks in one go, for a machine with CUDA and the project's requirements:
#   bash scripts/cuda_checks.sh [OUTDIR] [SECONDS_FOR_TESTS]
# 1. engine.sync_audit: per training iteration, device-to-host copies and stream syncs
#    counted with torch.profiler (both must be 0; the health check every 32 iterations
#    is where the figures come over);
# 2. engine.bench on CUDA (fp32, and bf16 for the DCGAN);
# 3. gui.bench (the window offscreen; the engine process trains on CUDA);
# 4. the engine tests on CUDA, -v so a run cut short still names its failures.
set -u
OUT=${1:-cuda-checks}
TESTS_S=${2:-600}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 QT_QPA_PLATFORM=offscreen
py=${PYTHON:-python3}
$py -c "import torch; assert torch.cuda.is_available(), 'no CUDA here'; print(torch.__version__, torch.cuda.get_device_name())" \
  | tee "$OUT/device.txt" || exit 1
$py -m engine.sync_audit --device cuda 2>&1 | grep -v USDT | tee "$OUT/sync_audit.txt"
$py -m engine.bench --device cuda --threads 1 2>&1 | tee "$OUT/engine_bench.txt"
$py -m engine.bench --device cuda --threads 1 --preset dcgan_digits --precision bf16 2>&1 \
  | tee -a "$OUT/engine_bench.txt"
$py -m gui.bench --threads 1 2>&1 | tee "$OUT/gui_bench.txt"
timeout "$TESTS_S" $py -m pytest tests/engine -v -n "$(( $(nproc) > 14 ? 14 : $(nproc) ))" \
  -p no:cacheprovider -rfE > "$OUT/engine_tests.txt" 2>&1
echo "engine tests: exit $?"
grep -E "(FAILED|ERROR) tests/" "$OUT/engine_tests.txt" | sort -u | head -50
tail -1 "$OUT/engine_tests.txt"
