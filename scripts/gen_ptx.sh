#!/bin/bash
# Regenerates src/gpu/scale.ptx, the checked-in PTX of src/gpu/scale.cu that the
# build embeds (so the build needs no nvcc). Run after changing scale.cu or area.h:
#   bash scripts/gen_ptx.sh            (writes src/gpu/scale.ptx)
#   bash scripts/gen_ptx.sh OUT.ptx    (writes OUT.ptx: the meson test compares)
# compute_75 (Turing) is the oldest target CUDA 13 builds; the driver JIT-compiles
# the PTX for the GPU it runs on (sm_90 for an H100/H200).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
out=${1:-$here/src/gpu/scale.ptx}
"$NVCC" -ptx -arch=compute_75 -O3 -I"$here/src/gpu" -o "$out" "$here/src/gpu/scale.cu"
