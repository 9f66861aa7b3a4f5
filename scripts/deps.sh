#!/usr/bin/env bash
# Installs the Debian 12 packages vidx needs to build, test and benchmark.
# Idempotent: does nothing when everything is already there. Run as root.
set -euo pipefail
pkgs=(build-essential meson ninja-build pkg-config ffmpeg
      libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
      libavfilter-dev
      libturbojpeg0-dev libwebp-dev libsqlite3-dev libjansson-dev libcmocka-dev
      libpq-dev postgresql libcurl4-openssl-dev
      python3 python3-numpy sqlite3 clang-format valgrind strace)
# The Python package (python/) and its tests: the extension's headers, NumPy,
# pytest, the PEP 517 backend for pip install ., PyTorch (vidx.torch, whose
# datasets decode stored images with PIL) and Dask.
pkgs+=(python3-dev python3-pytest python3-mesonpy python3-pip python3-venv
       python3-torch python3-pil python3-distributed)
# The tests' throwaway Slurm cluster (scripts/slurm_local.sh): slurmctld, slurmd,
# the sbatch/squeue clients and munge.
pkgs+=(slurm-wlm munge)
# The built-in offline speech recogniser (speech/asr_sphinx.c) and its US English
# model; espeak-ng speaks known text for its tests and bench/asr_wer.py.
pkgs+=(libpocketsphinx-dev pocketsphinx-en-us espeak-ng)
# NVIDIA GPU support (meson -Dcuda, src/gpu/): ffnvcodec's loader headers; the
# driver (libcuda, libnvcuvid) is loaded at run time only where there is a GPU.
pkgs+=(libffmpeg-nvenc-dev)
# The tests' S3 server (scripts/services.sh s3-start): Ceph's radosgw on one monitor and
# one in-memory OSD.
pkgs+=(radosgw ceph-mon ceph-osd ceph-common)
# net/s3.c: S3 listings and multipart answers are XML.
pkgs+=(libxml2-dev)
# vidx serve's HTTP server; the browser tests drive Debian's chromium with
# playwright-core (npm, pinned in package-lock.json: scripts/test.sh installs it).
pkgs+=(libmicrohttpd-dev chromium chromium-driver)
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
if [ "${VIDX_BENCH_DEPS:-0}" = 1 ]; then
  pkgs+=(wrk)
  pkgs+=(hyperfine python3-av python3-opencv time)
fi
# The libFuzzer build of tests/fuzz/ (CC=clang, -Dfuzz=true); the ordinary
# test run replays the fuzz corpora with gcc and does not need it.
if [ "${VIDX_FUZZ_DEPS:-0}" = 1 ]; then
  pkgs+=(clang-14 libfuzzer-14-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "vidx: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "vidx: missing packages and not root; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The browser tests' driver, at the versions package-lock.json pins (no browser
# download: the tests use Debian's chromium).
cd "$(dirname "$0")/.."
want=$(node -p "require('./package-lock.json').packages['node_modules/playwright-core'].version")
have=$(node -p "require('./node_modules/playwright-core/package.json').version" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  npm ci --no-audit --no-fund --ignore-scripts >/dev/null ||
    { echo "vidx: npm ci (playwright-core for the browser tests) failed" >&2; exit 1; }
fi
