#!/usr/bin/python3
"""Bytes per frame against quality (SSIM) for vidx's JPEG and WebP output.

For each clip, vidx writes the same frames as lossless PNG (the reference) and as
JPEG/WebP at several qualities; FFmpeg's ssim filter compares each lossy frame
with its PNG. Prints a markdown table: format, quality, mean bytes/frame, mean SSIM.

    /usr/bin/python3 bench/compression.py [CLIP...]   (default: a few corpus clips)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VIDX = os.environ.get('VIDX_BIN', str(ROOT / 'build/tools/vidx/vidx'))
CORPUS = Path(os.environ.get('VIDX_CORPUS', ROOT.parent / 'shared/corpus'))
DEFAULT_CLIPS = ['torchcodec_nasa_13013.mp4', 'psd_testvideo.mp4', 'moviepy_fire2.mp4',
                 'androidx_bear-vp9.webm', 'decord_flipping_a_pancake.mkv']
SETTINGS = [('jpg', q) for q in (60, 75, 85, 90, 95)] + [('webp', q) for q in (50, 65, 75, 85, 90)]


def frames(clip, out, fmt, quality):
    subprocess.run([VIDX, 'frames', str(clip), '-o', str(out), '--count', '10', '--format', fmt,
                    '--quality', str(quality), '--quiet'], check=True)
    return [json.loads(l) for l in (out / 'manifest.jsonl').read_text().splitlines()]


def ssim(ref, img):
    r = subprocess.run(['ffmpeg', '-nostdin', '-v', 'info', '-i', str(ref), '-i', str(img),
                        '-lavfi', '[0:v]format=rgb24[a];[1:v]format=rgb24[b];[a][b]ssim',
                        '-f', 'null', '-'], capture_output=True, text=True, check=True)
    m = re.search(r'All:([0-9.]+)', r.stderr)
    return float(m.group(1))


def main():
    clips = [Path(c) for c in sys.argv[1:]] or [CORPUS / c for c in DEFAULT_CLIPS]
    clips = [c for c in clips if c.exists()]
    if not clips:
        sys.exit('no clips (set VIDX_CORPUS or name clips)')
    rows = {s: [0, 0.0, 0] for s in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        for i, clip in enumerate(clips):
            ref_dir = Path(tmp) / ('ref%d' % i)
            ref = frames(clip, ref_dir, 'png', 90)
            for fmt, q in SETTINGS:
                d = Path(tmp) / ('%s%d_%d' % (fmt, q, i))
                for r, f in zip(ref, frames(clip, d, fmt, q)):
                    row = rows[(fmt, q)]
                    row[0] += f['bytes']
                    row[1] += ssim(ref_dir / r['path'], d / f['path'])
                    row[2] += 1
    print('| format | quality | bytes/frame | SSIM (RGB, vs lossless) |')
    print('| --- | --- | --- | --- |')
    for (fmt, q), (b, s, n) in rows.items():
        print('| %s | %d | %d | %.4f |' % (fmt, q, b // max(n, 1), s / max(n, 1)))
    print('\n%d clips, %d frames each: %s' % (len(clips), 10, ', '.join(c.name for c in clips)))


if __name__ == '__main__':
    main()
