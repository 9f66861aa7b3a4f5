#!/usr/bin/python3
"""Peer: the common ("seed-style") Python pipeline for a video library.

Usage: /usr/bin/python3 bench/peers/python_pipeline.py LIBDIR OUTDIR [--jobs 2] [--count 30]

concurrent.futures.ProcessPoolExecutor(max_workers=JOBS) over the videos in LIBDIR
(*.mp4 *.mkv *.mov *.webm *.avi, sorted).  Per video, in its worker:
  * OpenCV: cv2.VideoCapture; for each of COUNT uniform frames (frame index of the
    segment center, floor((i + 0.5) * frame_count / COUNT)) set CAP_PROP_POS_FRAMES,
    read(), cv2.imwrite as JPEG quality 90 -> OUTDIR/<stem>/000001.jpg ...
    (full size, as decoded);
  * an `ffmpeg` subprocess extracting the audio as 16 kHz mono 16-bit WAV
    -> OUTDIR/<stem>/audio.wav.
Exit status 1 if any video failed; a one-line summary goes to stderr.
"""
import argparse
import concurrent.futures as cf
import os
import subprocess
import sys

import cv2

EXTS = (".mp4", ".mkv", ".mov", ".webm", ".avi")


def process(path, outroot, count, quality):
    stem = os.path.splitext(os.path.basename(path))[0]
    out = os.path.join(outroot, stem)
    os.makedirs(out, exist_ok=True)
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        return path, 0, False
    nframes = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    written = 0
    for i in range(count):
        idx = min(nframes - 1, (2 * i + 1) * nframes // (2 * count))
        cap.set(cv2.CAP_PROP_POS_FRAMES, idx)
        ok, frame = cap.read()
        if not ok:
            continue
        if cv2.imwrite(os.path.join(out, f"{i + 1:06d}.jpg"), frame, params):
            written += 1
    cap.release()
    r = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", path,
         "-vn", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le",
         os.path.join(out, "audio.wav")],
        stdin=subprocess.DEVNULL)
    return path, written, r.returncode == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("libdir")
    ap.add_argument("outdir")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--quality", type=int, default=90)
    a = ap.parse_args()
    videos = sorted(os.path.join(a.libdir, f) for f in os.listdir(a.libdir)
                    if f.lower().endswith(EXTS))
    os.makedirs(a.outdir, exist_ok=True)
    frames = failed = 0
    with cf.ProcessPoolExecutor(max_workers=a.jobs) as ex:
        futs = [ex.submit(process, v, a.outdir, a.count, a.quality) for v in videos]
        for fu in cf.as_completed(futs):
            path, n, audio_ok = fu.result()
            frames += n
            if n != a.count or not audio_ok:
                failed += 1
                print(f"python_pipeline: {path}: {n} frames, audio ok={audio_ok}",
                      file=sys.stderr)
    print(f"python_pipeline: {len(videos)} videos, {frames} frames, {failed} failed",
          file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
