#!/usr/bin/env bash
# The prepared GPU check (issue: GPU through CuPy). Finishes in under 8 minutes on one GPU (each
# step has a time limit; usually far less).
#
# Needs on the GPU machine: CuPy, PyTorch (CUDA), torchvision, pytest, hypothesis; no network.
# MNIST must be reachable as <shared>/data/mnist, with <shared> = $MINICNN_SHARED, ../shared, or
# .shared inside the checkout (git-ignored; copy it there and carry it to the GPU machine:
# `mkdir -p .shared/data && cp -r ../shared/data/mnist .shared/data/`).
#
#   bash benchmarks/gpu_check.sh            # writes $OUT (or ./gpu_check_out) and prints
#                                           # one JSON summary line at the end
#
# GPU_CHECK_DRY_RUN=1 runs the same steps without a GPU, shortened (no test suite, --quick
# benchmarks, four kernel cases), on the fake CuPy of tests/fake_gpu with torch on the CPU: it
# checks that this script and the benchmarks' GPU code paths run and that the summary is
# written, never speed (tests/test_gpu_dry_run.py runs it).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu_check_out}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -z "${MINICNN_SHARED:-}" ]; then
    for d in ../shared .shared; do
        [ -f "$d/data/mnist/train-images-idx3-ubyte.gz" ] && export MINICNN_SHARED="$(cd "$d" && pwd)" && break
    done
fi
export MINICNN_DATA="${MINICNN_SHARED:-.}/data/mnist"
export MINICNN_OFFLINE=1
PY="$(command -v python || command -v python3)"  # a bare machine may have only python3
QUICK=()
KERNEL_CASES=()
if [ -n "${GPU_CHECK_DRY_RUN:-}" ]; then
    export PYTHONPATH="$PWD/tests/fake_gpu:$PYTHONPATH" MINICNN_BENCH_TORCH_DEVICE=cpu
    QUICK=(--quick)
    KERNEL_CASES=(--only "LeNet conv2,MobileNet dw,max_pool2d 3x3/2,LRN(5)")
    echo "== dry run: the fake CuPy of tests/fake_gpu, torch on the CPU; no speed is measured"
fi

"$PY" - 2>"$OUT/gpu_probe.txt" <<'EOF' || { echo '{"gpu_check": "no GPU: mc.cuda.is_available() is False (see gpu_probe.txt)"}'; exit 1; }
import minicnn as mc, cupy
assert mc.cuda.is_available()
print("GPU:", cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(), "| CuPy", cupy.__version__)
EOF

# Order: the measurements first (the targets), the test suite last, its GPU cases before the
# rest. Each measurement has its own time limit (60 + 45 + 70 + 40 s), so that a slow step
# cannot take the others' time; the test suite gets what is left of 470 s (7.8 min), three
# quarters of it for the GPU cases (about 185 s when every measurement runs to its limit,
# more when they finish early), the rest for the other cases.
BUDGET=470
echo "== 1. one LeNet-5 MNIST epoch on the GPU, batch 128 and 1024 (minicnn and torch CUDA)"
timeout 60 "$PY" benchmarks/bench_lenet.py --device cuda --threads 1 ${QUICK[@]+"${QUICK[@]}"} --json "$OUT/lenet128.json" \
    2>&1 | tee "$OUT/lenet128.txt"
timeout 45 "$PY" benchmarks/bench_lenet.py --device cuda --threads 1 ${QUICK[@]+"${QUICK[@]}"} --batch-size 1024 \
    --json "$OUT/lenet1024.json" 2>&1 | tee "$OUT/lenet1024.txt"

echo "== 2. kernels on the GPU against PyTorch CUDA ($SECONDS s so far)"
timeout 70 "$PY" benchmarks/bench_kernels.py --device cuda --repeats 5 ${QUICK[@]+"${QUICK[@]}"} ${KERNEL_CASES[@]+"${KERNEL_CASES[@]}"} --json "$OUT/kernels.json" \
    2>&1 | tee "$OUT/kernels.txt"
echo "== 2b. the same with minicnn's array code on CuPy instead of its CUDA kernels"
timeout 40 "$PY" benchmarks/bench_kernels.py --device cuda --array-code --repeats 3 ${QUICK[@]+"${QUICK[@]}"} ${KERNEL_CASES[@]+"${KERNEL_CASES[@]}"} \
    --json "$OUT/kernels_array_code.json" 2>&1 | tee "$OUT/kernels_array_code.txt"

echo "== 3. test suite with the GPU cases enabled: the GPU cases, then the rest ($SECONDS s so far)"
if [ -n "${GPU_CHECK_DRY_RUN:-}" ]; then
    echo "skipped (dry run)" >"$OUT/pytest_cuda.txt"
    echo "skipped (dry run)" >"$OUT/pytest_rest.txt"
else
    # (the dry run of this script and the slow CPU-only tests -- MNIST training runs, the docs'
    # examples -- are left to CI: they touch no GPU code)
    timeout $(( (BUDGET - SECONDS) * 3 / 4 )) "$PY" -m pytest -q -p no:cacheprovider -m cuda \
        --ignore=tests/test_gpu_dry_run.py 2>&1 | tee "$OUT/pytest_cuda.txt" | tail -5
    timeout $(( BUDGET - SECONDS > 30 ? BUDGET - SECONDS : 30 )) "$PY" -m pytest -q -p no:cacheprovider \
        -m "not cuda and not slow" --ignore=tests/test_gpu_dry_run.py 2>&1 | tee "$OUT/pytest_rest.txt" | tail -3
fi
TESTS="GPU cases: $(tail -1 "$OUT/pytest_cuda.txt") | the rest: $(tail -1 "$OUT/pytest_rest.txt")"
echo "== done in $SECONDS s"

"$PY" benchmarks/gpu_summary.py "$OUT" "$TESTS" "${GPU_CHECK_DRY_RUN:-}"
