#!/usr/bin/python3
"""Peer: PyAV seek-and-decode, the way decord / torchcodec sample exact frames.

Usage: /usr/bin/python3 bench/peers/pyav_uniform.py IN OUTDIR N [--threads auto|slice|frame|none]

For each of N uniform targets t_i = start + (i + 0.5) * D / N (centers of N equal
segments of the video stream's duration D, t measured from the stream start, as in
vidx's "uniform N"), seek to the keyframe at or before t_i
(container.seek(..., backward=True, any_frame=False, stream=vs)), decode forward to
the frame shown at t_i (greatest pts <= t_i), convert it to BGR at the input size and
write it as JPEG quality 90 with OpenCV (OUTDIR/000001.jpg ...).

A seek is skipped when the next target lies ahead of the current decode position and
before the next keyframe (estimated from the spacing of the keyframes decoded so far),
i.e. when it sits in the GOP being decoded, as decord/torchcodec do with their keyframe
index; with long1080 (targets 4 s apart, GOP 2.5 s) every target seeks.
"""
import argparse
import os
import sys
from fractions import Fraction

import av
import cv2


def sample(container, vs, targets, outdir, params):
    tb = vs.time_base
    written = 0
    debug = bool(os.environ.get("PYAV_UNIFORM_DEBUG"))
    frames = None          # live decode generator
    last = None            # last decoded frame not yet consumed
    last_kf = None         # pts of the last keyframe decoded
    kf_interval = None     # observed spacing of keyframes (pts units)
    for k, t in enumerate(targets):
        need_seek = (
            frames is None
            or last is None
            or t < last.pts
            or last_kf is None
            or kf_interval is None
            or t >= last_kf + kf_interval
        )
        if need_seek:
            container.seek(t, backward=True, any_frame=False, stream=vs)
            frames = container.decode(vs)
            last = None
            last_kf = None
        chosen = None
        # last frame with pts <= t: keep decoding until a frame passes t
        if last is not None and last.pts <= t:
            chosen = last
        for f in frames:
            if f.pts is None:
                continue
            if f.key_frame:
                if last_kf is not None and f.pts > last_kf:
                    kf_interval = f.pts - last_kf
                last_kf = f.pts
            if f.pts <= t:
                chosen = f
                last = f
                continue
            last = f  # first frame after t: may serve the next target
            break
        else:
            last = None
            frames = None
        if chosen is None:
            # target precedes the first decodable frame (should not happen): take the first after
            chosen = last
        if chosen is None:
            print(f"pyav_uniform: no frame for target {float(t * tb):.3f}s", file=sys.stderr)
            return -1
        if debug:
            print(f"target {float(t * tb):.4f} -> pts {chosen.pts} ({float(chosen.pts * tb):.4f}s)"
                  f" seek={need_seek}", file=sys.stderr)
        img = chosen.to_ndarray(format="bgr24")
        ok, buf = cv2.imencode(".jpg", img, params)
        if not ok:
            return -1
        with open(os.path.join(outdir, f"{k + 1:06d}.jpg"), "wb") as fh:
            fh.write(buf.tobytes())
        written += 1
    return written


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("outdir")
    ap.add_argument("n", type=int)
    ap.add_argument("--threads", default="auto", choices=["auto", "slice", "frame", "none"])
    ap.add_argument("--quality", type=int, default=90)
    a = ap.parse_args()

    os.makedirs(a.outdir, exist_ok=True)
    container = av.open(a.input)
    vs = container.streams.video[0]
    if a.threads != "none":
        vs.thread_type = a.threads.upper()
        vs.thread_count = 0  # libavcodec picks (one per core)
    tb = vs.time_base
    start = vs.start_time if vs.start_time is not None else 0
    if vs.duration is not None:
        dur = vs.duration  # in tb units
    else:
        dur = int(Fraction(container.duration, av.time_base) / tb)
    params = [cv2.IMWRITE_JPEG_QUALITY, a.quality]

    # target pts (stream tb units), exact rational arithmetic
    targets = [start + int(Fraction(2 * i + 1, 2 * a.n) * dur) for i in range(a.n)]

    try:
        written = sample(container, vs, targets, a.outdir, params)
    finally:
        # Drain the decoder before closing: with frame threading (thread_type AUTO/FRAME),
        # PyAV 10 + FFmpeg 5.1 deadlock in avcodec_close() at teardown when the decoder
        # still holds frames from an abandoned decode; sending the flush packet avoids it.
        try:
            for _ in vs.codec_context.decode(None):
                pass
        except av.AVError:
            pass
        container.close()
    if written < 0:
        return 1
    return 0 if written == a.n else 1


if __name__ == "__main__":
    sys.exit(main())
