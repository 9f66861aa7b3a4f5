#!/bin/bash
# Is the checked-in src/gpu/scale.ptx what nvcc makes of src/gpu/scale.cu now?
# (The meson test "ptx_current" runs this where nvcc exists; comment lines, which
# name the compiler build, are not compared.) Fix a failure with scripts/gen_ptx.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$here/scripts/gen_ptx.sh" "$tmp/scale.ptx"
if ! diff <(grep -v '^//' "$here/src/gpu/scale.ptx") <(grep -v '^//' "$tmp/scale.ptx") >/dev/null; then
    echo "src/gpu/scale.ptx is stale: run bash scripts/gen_ptx.sh and commit it" >&2
    exit 1
fi
echo "src/gpu/scale.ptx is current"
