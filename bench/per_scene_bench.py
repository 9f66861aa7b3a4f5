#!/usr/bin/python3
"""What --per-scene costs: bytes read from the input, pictures decoded, CPU seconds,
against sampling with --scenes (one read), vidx scenes alone and FFmpeg's decode floor,
same clips, same run.

  bench/per_scene_bench.py [CLIP...]     default: psd_testvideo.mp4 and
                                         moviepy_big_buck_bunny_0_30.webm from the corpus

Commands (one core each: --threads 1, ffmpeg -threads 1):
  floor          ffmpeg -threads 1 -i CLIP -map 0:v:0 -f null -
  scenes         vidx scenes CLIP --threads 1
  count4+scenes  vidx frames CLIP -o DIR --count 4 --scenes --threads 1   (one read)
  per-scene 1    vidx frames CLIP -o DIR --per-scene 1 --threads 1         (two reads)
  per-scene 3    vidx frames CLIP -o DIR --per-scene 3 --threads 1
CPU seconds are user + system of the whole command, best of ROUNDS (3). Bytes read are
counted once per command with strace (reads from the descriptors the clip was opened
on, and FFmpeg's reopens of them through /proc/self/fd). "decoded" is what vidx
frames reports: the pictures its sampler decoded (for --per-scene the second read
only; the first decodes every picture, as scenes does).
Environment: VIDX (the vidx binary), VIDX_CORPUS, ROUNDS.
"""
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get('VIDX_CORPUS', ROOT.parent / 'shared' / 'corpus'))
VIDX = os.environ.get('VIDX', str(ROOT / 'build' / 'tools' / 'vidx' / 'vidx'))
ROUNDS = int(os.environ.get('ROUNDS', '3'))


def commands(clip, out):
    return [('floor', ['ffmpeg', '-nostdin', '-v', 'error', '-threads', '1', '-i', clip, '-map',
                       '0:v:0', '-f', 'null', '-']),
            ('scenes', [VIDX, 'scenes', clip, '--threads', '1']),
            ('count4+scenes', [VIDX, 'frames', clip, '-o', out, '--count', '4', '--scenes',
                               '--threads', '1']),
            ('per-scene 1', [VIDX, 'frames', clip, '-o', out, '--per-scene', '1', '--threads', '1']),
            ('per-scene 3', [VIDX, 'frames', clip, '-o', out, '--per-scene', '3', '--threads', '1'])]


def cpu(cmd, out):
    best, err = None, ''
    for _ in range(ROUNDS):
        shutil.rmtree(out, ignore_errors=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            sys.exit('%s: exit %d: %s' % (' '.join(cmd), r.returncode, r.stderr))
        t = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best, err = (t, r.stderr) if best is None or t < best else (best, err)
    m = re.search(r'\((\d+) decoded', err)
    return best, m.group(1) if m else '-'


def bytes_read(cmd, clip, out):
    shutil.rmtree(out, ignore_errors=True)
    with tempfile.NamedTemporaryFile() as trace:
        subprocess.run(['strace', '-f', '-qq', '-e', 'trace=openat,read,pread64,readv,close', '-o',
                        trace.name] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
        fds, total, name = {}, 0, re.escape(os.path.realpath(clip))
        for line in open(trace.name, errors='replace'):
            m = re.match(r'(\d+)\s+(.*)$', line)
            if not m:
                continue
            mine, call = fds.setdefault(m.group(1), set()), m.group(2)
            m = re.match(r'openat\(AT_FDCWD, "%s".*= (\d+)$' % name, call)
            if m:
                mine.add(m.group(1))
                continue
            m = re.match(r'openat\(AT_FDCWD, "/proc/self/fd/(\d+)".*= (\d+)$', call)
            if m and m.group(1) in mine:
                mine.add(m.group(2))
                continue
            m = re.match(r'(?:read|pread64|readv)\((\d+),.*= (\d+)$', call)
            if m and m.group(1) in mine:
                total += int(m.group(2))
            m = re.match(r'close\((\d+)\)', call)
            if m:
                mine.discard(m.group(1))
        return total


def main():
    clips = sys.argv[1:] or [str(CORPUS / 'psd_testvideo.mp4'),
                             str(CORPUS / 'moviepy_big_buck_bunny_0_30.webm')]
    print('| clip | size | command | CPU s | vs floor | bytes read | x file | decoded |')
    print('|---|---|---|---|---|---|---|---|')
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'out')
        for clip in clips:
            size = os.path.getsize(clip)
            floor = None
            for name, cmd in commands(clip, out):
                t, dec = cpu(cmd, out)
                floor = t if floor is None else floor
                b = bytes_read(cmd, clip, out)
                print('| %s | %d | %s | %.2f | %+.0f %% | %d | %.2f | %s |'
                      % (os.path.basename(clip), size, name, t, 100 * (t - floor) / floor, b,
                         b / size, dec), flush=True)


if __name__ == '__main__':
    main()
