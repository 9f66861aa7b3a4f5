#!/usr/bin/python3
"""Frames as NumPy arrays from Python: vidx against PyAV and OpenCV, in one run.

    /usr/bin/python3 bench/python_bench.py [--data DIR] [--rounds 5] [--warmup 0|1] [--build build]

Workloads (docs/BENCHMARKS.md, "Python"):
  sparse-long1080  30 uniform frames (the centres of 30 equal segments) of
                   long1080.mp4 as H x W x 3 uint8 RGB arrays
  sparse-lib100    the same for each of the 100 clips of lib100, one after another
  full-720p        every frame of clip720.mp4 (bench/make_clip720.sh: 10 s,
                   1280x720, 30 fps, 300 frames) as arrays
Tools:
  vidx     vidx.batch(path, count=30) / vidx.frames(path, fps=30)
  pyav     PyAV seek-and-decode: for each target, seek to the keyframe before
           it and decode to the frame shown at it (what decord and torchcodec
           do); full: decode every frame; to_ndarray('rgb24'); thread_type AUTO
  vidx-yuv full decode as planes (pixel='yuv420p'): not the same work, it
           shows what the RGB conversion costs
  opencv   cv2.VideoCapture, CAP_PROP_POS_FRAMES = floor(t * fps), read(),
           BGR -> RGB (sparse only)
Every measurement is a fresh process (import included), so its peak RSS
(ru_maxrss) is its own; the tools alternate within each round (A B C, B C A,
...) and the median of the rounds is reported with the ratio to PyAV, for the
wall time and for the CPU time (user + system of all the child's threads,
getrusage), with the load average at the start of each round: on a shared
machine the CPU time is the steadier figure. Each
child also reports the pts of the frames it delivered, so that the tools are
checked to deliver the same frames (same pts) for the same targets.
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def targets(duration, start, n=30):
    """The centres of n equal segments, as exact fractions of a second: a float
    (8.1666... s) could land one tick short of a frame shown exactly at it."""
    return [start + (2 * i + 1) * duration / (2 * n) for i in range(n)]


def stream_span(container):
    """(video stream, time base, start, duration) as the header gives them (PyAV),
    the times as Fractions of a second."""
    from fractions import Fraction
    vs = container.streams.video[0]
    tb = Fraction(vs.time_base)
    start = vs.start_time * tb if vs.start_time is not None else Fraction(0)
    dur = vs.duration * tb if vs.duration else Fraction(container.duration, 1000000)
    return vs, tb, start, dur


# ---------------------------------------------------------------- children

def vidx_sparse(paths):
    import vidx
    pts = []
    for p in paths:
        b = vidx.batch(p, count=30)
        assert b.array.shape[0] == 30
        pts.append([int(x) for x in b.pts])
    return pts


def vidx_full(path):
    import vidx
    n, pts = 0, []
    for f in vidx.frames(path, fps=30):
        assert f.array.flags['C_CONTIGUOUS']
        n += 1
        pts.append(f.pts)
    return [pts]


def vidx_yuv_full(path):
    """Not the same work: the decoded YUV 4:2:0 planes, no RGB conversion."""
    import vidx
    pts = []
    for f in vidx.frames(path, fps=30, pixel='yuv420p'):
        pts.append(f.pts)
    return [pts]


def pyav_sparse(paths):
    import av
    out = []
    for p in paths:
        with av.open(p) as c:
            vs, tb, start, dur = stream_span(c)
            vs.thread_type = 'AUTO'
            got = []
            for t in targets(dur, start):
                want = math.floor(t / tb)
                c.seek(want, backward=True, any_frame=False, stream=vs)
                shown = None
                for fr in c.decode(vs):
                    if fr.pts is None:
                        continue
                    if fr.pts > want:
                        break
                    shown = fr
                if shown is None:  # a target before the first frame
                    shown = fr
                a = shown.to_ndarray(format='rgb24')
                assert a.ndim == 3
                got.append(int(shown.pts))
            out.append(got)
    return out


def pyav_full(path):
    import av
    pts = []
    with av.open(path) as c:
        vs = c.streams.video[0]
        vs.thread_type = 'AUTO'
        for fr in c.decode(vs):
            a = fr.to_ndarray(format='rgb24')
            assert a.ndim == 3
            pts.append(int(fr.pts))
    return [pts]


def opencv_sparse(paths):
    import cv2
    import av  # only to know each target's pts for the same-frames check
    from fractions import Fraction
    out = []
    for p in paths:
        with av.open(p) as c:
            _, tb, start, dur = stream_span(c)
        cap = cv2.VideoCapture(p)
        fps = Fraction(cap.get(cv2.CAP_PROP_FPS)).limit_denominator(1001000)
        got = []
        for t in targets(dur, start):
            idx = math.floor((t - start) * fps)
            cap.set(cv2.CAP_PROP_POS_FRAMES, idx)
            ok, bgr = cap.read()
            assert ok
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            assert rgb.ndim == 3
            got.append(round(idx / fps / tb) + round(start / tb))
        cap.release()
        out.append(got)
    return out


def child(tool, workload, paths):
    fn = {('vidx', 'sparse'): vidx_sparse, ('pyav', 'sparse'): pyav_sparse,
          ('opencv', 'sparse'): opencv_sparse, ('vidx', 'full'): vidx_full,
          ('vidx-yuv', 'full'): vidx_yuv_full,
          ('pyav', 'full'): pyav_full}[(tool, workload)]
    __import__({'vidx': 'vidx', 'vidx-yuv': 'vidx', 'pyav': 'av', 'opencv': 'cv2'}[tool])  # imports not timed
    import numpy  # noqa: F401
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    pts = fn(paths) if workload == 'sparse' else fn(paths[0])
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    print(json.dumps({'seconds': dt, 'cpu': cpu, 'peak_rss': r1.ru_maxrss * 1024, 'pts': pts}))


# ---------------------------------------------------------------- parent

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=os.path.join(HERE, 'data'))
    ap.add_argument('--build', default=os.path.join(REPO, 'build'))
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=1, choices=(0, 1),
                    help='1 (default): a first round, not counted, to fill the page cache')
    ap.add_argument('--only', action='append', help='workload(s) to run')
    ap.add_argument('--sparse', action='append', default=[], metavar='FILE',
                    help='also: 30 uniform frames of FILE (workload sparse-<name>)')
    ap.add_argument('--child', nargs=2, help=argparse.SUPPRESS)
    ap.add_argument('paths', nargs='*', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        sys.path[:0] = [os.path.join(REPO, 'python'), os.path.join(a.build, 'python')]
        child(a.child[0], a.child[1], a.paths)
        return
    lib = os.path.join(a.data, 'lib100')
    workloads = {
        'sparse-long1080': ('sparse', [os.path.join(a.data, 'long1080.mp4')],
                            ['vidx', 'pyav', 'opencv']),
        'sparse-lib100': ('sparse', sorted(os.path.join(lib, n) for n in os.listdir(lib)
                                           if n.endswith('.mp4')) if os.path.isdir(lib) else [],
                          ['vidx', 'pyav', 'opencv']),
        'full-720p': ('full', [os.path.join(a.data, 'clip720.mp4')], ['vidx', 'pyav', 'vidx-yuv']),
    }
    for f in a.sparse:
        workloads['sparse-' + os.path.basename(f)] = ('sparse', [f], ['vidx', 'pyav', 'opencv'])
    results = {}
    for name, (kind, paths, tools) in workloads.items():
        if a.only and name not in a.only:
            continue
        if not paths or not all(os.path.isfile(p) for p in paths):
            sys.exit('%s: inputs missing under %s (bench/make_long1080.sh, bench/make_lib.sh '
                     'lib100 100 10 640x360, bench/make_clip720.sh)' % (name, a.data))
        runs = {t: [] for t in tools}
        pts = {}
        loads = []
        for r in range(1 - a.warmup, a.rounds + 1):  # round 0: warm-up (page cache), not counted
            order = tools[r % len(tools):] + tools[:r % len(tools)]
            if r > 0:
                loads.append(os.getloadavg()[0])
            for t in order:
                cmd = [sys.executable, os.path.abspath(__file__), '--build', a.build,
                       '--child', t, kind] + paths
                p = subprocess.run(cmd, capture_output=True, text=True)
                if p.returncode != 0:
                    sys.exit('%s %s failed:\n%s' % (name, t, p.stderr[-3000:]))
                res = json.loads(p.stdout.strip().splitlines()[-1])
                pts[t] = res['pts']
                if r > 0:
                    runs[t].append(res)
        ref = pts['pyav']
        row = {}
        for t in tools:
            secs = statistics.median(x['seconds'] for x in runs[t])
            rss = max(x['peak_rss'] for x in runs[t])
            same = sum(a_ == b_ for va, vb in zip(pts[t], ref) for a_, b_ in zip(va, vb))
            total = sum(len(v) for v in ref)
            cpu = statistics.median(x['cpu'] for x in runs[t])
            row[t] = {'median_s': secs, 'runs_s': [round(x['seconds'], 3) for x in runs[t]],
                      'median_cpu_s': cpu, 'runs_cpu_s': [round(x['cpu'], 3) for x in runs[t]],
                      'peak_rss_mib': rss / 2**20, 'same_frames_as_pyav': '%d/%d' % (same, total)}
        for t in tools:
            row[t]['ratio_to_pyav'] = row[t]['median_s'] / row['pyav']['median_s']
            row[t]['cpu_ratio_to_pyav'] = row[t]['median_cpu_s'] / row['pyav']['median_cpu_s']
        row['load_1min'] = loads
        results[name] = row
        print('## %s (%d file%s, median of %d rounds; 1-minute load at the rounds: %s)' % (
            name, len(paths), 's' if len(paths) > 1 else '', a.rounds,
            ' '.join('%.1f' % x for x in loads)))
        print('| tool | wall s | wall / PyAV | CPU s | CPU / PyAV | peak RSS MiB '
              '| same frames as PyAV | wall s of the runs | CPU s of the runs |')
        print('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
        for t in tools:
            x = row[t]
            print('| %s | %.3f | %.2f | %.3f | %.2f | %.0f | %s | %s | %s |' % (
                t, x['median_s'], x['ratio_to_pyav'], x['median_cpu_s'], x['cpu_ratio_to_pyav'],
                x['peak_rss_mib'], x['same_frames_as_pyav'],
                ' '.join('%.2f' % s for s in x['runs_s']),
                ' '.join('%.2f' % s for s in x['runs_cpu_s'])))
        print(flush=True)
    print(json.dumps(results))


if __name__ == '__main__':
    main()
