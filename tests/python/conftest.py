"""pytest set-up for the Python package's tests (tests/python/).

    VIDX_BUILD   the meson build directory whose build/python/_vidx*.so is
                 imported (default <repo>/build); the package itself is python/
    VIDX_BIN     the vidx CLI the frames are compared with (default
                 $VIDX_BUILD/tools/vidx/vidx)
    VIDX_CORPUS  the real-clip corpus (default <repo>/../shared/corpus); tests
                 that need it skip with a message when it is absent
Run by scripts/test.sh; alone: /usr/bin/python3 -m pytest tests/python
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get('VIDX_BUILD', REPO / 'build')).resolve()
if os.environ.get('VIDX_PY_INSTALLED') != '1':  # else: test the installed package
    sys.path[:0] = [str(REPO / 'python'), str(BUILD / 'python')]

import vidx  # noqa: E402

VIDX_BIN = os.environ.get('VIDX_BIN', str(BUILD / 'tools' / 'vidx' / 'vidx'))
CORPUS = Path(os.environ.get('VIDX_CORPUS', REPO.parent / 'shared' / 'corpus')).resolve()  # vidx records real paths
# Documented damage: tested for their errors, not frame by frame.
CORRUPT = {'androidx_invalid-bitstream.webm', 'androidx_sample_with_invalid_nalu.mp4'}
VIDEO_EXTS = {'.mp4', '.mov', '.mkv', '.webm', '.avi', '.flv', '.ts', '.3gp', '.m4v'}


def corpus_clips():
    if not CORPUS.is_dir():
        return []
    return sorted(p.name for p in CORPUS.iterdir()
                  if p.is_file() and p.suffix.lower() in VIDEO_EXTS)


def clip(name):
    p = CORPUS / name
    if not p.is_file():
        pytest.skip('corpus clip %s not found (set VIDX_CORPUS)' % name)
    return str(p)


def vidx_cli(*args, check=True):
    r = subprocess.run([VIDX_BIN, *map(str, args)], capture_output=True, text=True, timeout=600)
    if check and r.returncode != 0:
        raise AssertionError('vidx %s: exit %d\n%s' % (' '.join(map(str, args)), r.returncode,
                                                       r.stderr[-2000:]))
    return r


def rss_bytes():
    """This process's resident set size now (/proc/self/statm)."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


@pytest.fixture
def tmp(tmp_path):
    return tmp_path
