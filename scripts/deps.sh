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
# The tests' throwaway Slurm cluster (scripts/slurm_local.sh): slurmctld, slurmd,
# the sbatch/squeue clients and munge.
pkgs+=(slurm-wlm munge)
# The built-in offline speech recogniser (speech/asr_sphinx.c) and its US English
# model; espeak-ng speaks known text for its tests and bench/asr_wer.py.
pkgs+=(libpocketsphinx-dev pocketsphinx-en-us espeak-ng)
if [ "${VIDX_BENCH_DEPS:-0}" = 1 ]; then
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
[ ${#missing[@]} -eq 0 ] && exit 0
echo "vidx: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "vidx: missing packages and not root; run: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
