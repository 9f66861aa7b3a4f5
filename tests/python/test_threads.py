"""The GIL is released while vidx reads and decodes, and many threads decode at
once with the same results as one thread."""
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import vidx
from conftest import CORRUPT, clip, corpus_clips

CLIPS = [c for c in corpus_clips() if c not in CORRUPT][:8]


def digest(path):
    return [(f.index, hashlib.md5(f.array.tobytes()).hexdigest())
            for f in vidx.frames(path, count=5, size=96, threads=1)]


def test_threads_same_frames():
    if not CLIPS:
        pytest.skip('corpus not found (set VIDX_CORPUS)')
    paths = [clip(c) for c in CLIPS]
    want = [digest(p) for p in paths]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(digest, paths * 2))
    assert got == want * 2


def test_gil_released_during_decode():
    """A Python thread runs while one C call (batch: open, decode all) is in progress.
    With the GIL held for the whole call it could not run at all in between."""
    path = clip('moviepy_big_buck_bunny_0_30.webm')
    ticks = [0]
    inside = threading.Event()
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            if inside.is_set():
                ticks[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        inside.set()
        b = vidx.batch(path, fps=5, threads=1)
        inside.clear()
    finally:
        stop.set()
        t.join()
    assert len(b) > 10
    assert ticks[0] > 0


def test_one_iterator_many_threads_is_refused_or_works():
    """Sharing one iterator between threads either hands out distinct frames or
    refuses with RuntimeError: never a crash or a frame twice."""
    path = clip('moviepy_big_buck_bunny_0_30.webm')
    it = vidx.frames(path, fps=4, threads=1)
    got, errors = [], []
    lock = threading.Lock()

    def take():
        while True:
            try:
                f = next(it)
            except StopIteration:
                return
            except RuntimeError as e:
                with lock:
                    errors.append(e)
                continue
            with lock:
                got.append(f.index)

    threads = [threading.Thread(target=take) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    want = [f.index for f in vidx.frames(path, fps=4, threads=1)]
    assert sorted(got) == sorted(want)
