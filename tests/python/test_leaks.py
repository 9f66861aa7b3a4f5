"""Nothing leaks across 10,000 calls: the resident set size stays flat (it is
measured after a warm-up; a leak of 1 KiB a call would add 10 MiB)."""
import gc

import pytest

import vidx
from conftest import clip, rss_bytes

CALLS = 10000
SLACK = 6 * 1024 * 1024


def flat(fn, calls=CALLS):
    for _ in range(200):  # warm-up: allocator pools, FFmpeg's one-time tables
        fn()
    gc.collect()
    before = rss_bytes()
    for _ in range(calls):
        fn()
    gc.collect()
    grown = rss_bytes() - before
    assert grown < SLACK, 'RSS grew by %d bytes over %d calls' % (grown, calls)


def test_frames_do_not_leak():
    path = clip('androidx_bbb_176x144_192kbps_15fps_mpeg4.mp4')

    def one():
        for f in vidx.frames(path, count=1, threads=1):
            f.array.sum()
    flat(one)


def test_batch_and_probe_do_not_leak():
    path = clip('androidx_bbb_176x144_192kbps_15fps_mpeg4.mp4')
    flat(lambda: vidx.batch(path, index=[0, 3], threads=1))
    flat(lambda: vidx.probe(path))


def test_errors_do_not_leak(tmp):
    bad = tmp / 'bad.mp4'
    bad.write_bytes(b'\0' * 4096)

    def one():
        with pytest.raises(vidx.Error):
            vidx.probe(bad)
        with pytest.raises(vidx.Error):
            vidx.frames('/nonexistent.mp4')
    flat(one)


def test_abandoned_iterators_do_not_leak():
    path = clip('androidx_bbb_176x144_192kbps_15fps_mpeg4.mp4')

    def one():
        it = vidx.frames(path, count=5, threads=1)
        next(it)  # dropped half-way: the decoder and the file are freed with it
    flat(one)


def test_audio_does_not_leak():
    path = clip('androidx_bbb_2500ms.ts')
    flat(lambda: vidx.audio(path), calls=2000)
