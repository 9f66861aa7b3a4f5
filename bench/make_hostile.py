#!/usr/bin/python3
"""make_hostile.py - a generated video library of which a share is hostile.

    bench/make_hostile.py DIR [--count N] [--hostile-share F] [--jobs J] [--seed S] [--omit K,...]
    bench/make_hostile.py --feed-fifo FIFO HEADER    (a stalling writer; see below)

Writes DIR/lib/ (the library: pass it to `vidx run` as a directory), DIR/special/
(inputs named on the command line: FIFOs, an @list), DIR/outside/canary.txt (a file
next to the library that hostile playlists point at; no byte of it may reach an
output) and DIR/manifest.json, the expected outcome of every entry. N (default 1,000)
counts every entry of the library, good and hostile; a share F (default 0.1) is
hostile, and every hostile kind of the KINDS table below is present at least once
(so a small N has a larger hostile share); --omit leaves kinds out. Stdlib + the ffmpeg
CLI only; about 5 s for 1,000 entries.

Good clips are 1-2 s, 48x32 to 176x144, in several codecs and containers (H.264 in
MP4/MKV/FLV, HEVC in MP4, MPEG-4 Part 2 in AVI, MPEG-2 in TS, VP8/VP9 in WebM, MJPEG in
MOV, Theora in Ogg, raw Y4M), with and without audio. As bench/make_lib.sh does, only the distinct clips
are encoded (one ffmpeg each); the other good clips are stream copies with their own
title metadata, one ffmpeg per distinct clip writing all its copies.

Hostile kinds (see KINDS: expected outcome, and what the test does with it):
truncated files, random bytes, zero-byte files, wrong extensions (text, and PNG/MP3/
JPEG named as video), corrupt NAL units (bytes flipped inside the H.264 stream),
undecodable streams (valid container, random payload), symlink loops, FIFOs (in the
tree; named on the command line with no writer; named with a writer that sends the
header of a file declaring 1e15 ms and then stalls), a URL that sends the start of
a file declaring 1e15 ms and then stalls (check_hostile.StallServer), lying
durations (Matroska Duration patched to 1000x the content), a huge declared
duration (1e15 ms), playlists named .mp4 pointing at /etc/passwd and at the canary
(HLS, ffconcat),
an MKV with 1,000 tiny tracks, Y4M headers declaring 30000x30000 and 9000x9000, a
self-including @list, hard-linked and symlinked duplicates, a file named like a
protocol URL, and non-video files (photos, MP3, WAV, text, PDF, an .m3u8 playlist)
that a folder walk must skip.

manifest.json: {"version", "count", "good", "hostile", "inputs" (arguments for
`vidx run`, relative to DIR), "secrets" (files whose content must never appear in an
output), "writers" ([{"fifo", "header"}]: start `--feed-fifo` for each before the run
and kill it after), "servers" ([{"url", "data", "upto"}]: what the stalling HTTP server
serves; the URL entries are known by "url" under the server's base URL), "list_runs"
([{"kind", "args"}]: separate invocations), "entries": [{"path" (relative to DIR),
"kind", "expect", "group"?, "url"?, "run"?}]}. "expect" is the KINDS row:
"status" (allowed statuses; "skipped" = not processed as a video: absent from the
catalog or recorded as skipped, never a failure), "class" (allowed error classes when
not ok), "error" (a regular expression the recorded reason must match, case
insensitive), "distinct" (frames must be distinct frames of the stream, no repeats),
"one_per_group" (exactly one ok video among the entries of the same group),
"pending" (the branch that delivers the behaviour; tests skip the case until then).
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

FF = ['ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error', '-y']
X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']
PER_DIR = 50          # library entries per folder (lib/d00, lib/d01, ...)
HUGE_MS = 1e15        # the "huge declared duration" (ms)
LIE_FACTOR = 1000     # lying duration: the header says LIE_FACTOR x the content

# ---------------------------------------------------------------------------
# The expectations: one row per hostile kind. Adjust here when behaviour changes.
# status: allowed statuses; class: allowed error classes when not ok; error: regexp the
# reason must match; pending: branch that delivers it (the CLI test skips the case).
SKIP = {'status': ['skipped']}
KINDS = {
    'good': {'status': ['ok'], 'distinct': True},
    'truncated': {'status': ['partial', 'failed'], 'class': ['truncated'], 'error': r'truncated'},
    'random': {'status': ['failed'], 'class': ['format'], 'error': r'not a recognised media file'},
    'zero': {'status': ['failed'], 'class': ['empty'], 'error': r'empty'},
    # text named .mp4: the name says video, the content is no media at all
    'wrong_ext': {'status': ['failed'], 'class': ['format'], 'error': r'not a recognised media file'},
    # a PNG/MP3/JPEG named .mp4/.mov: media, but not video; not a security matter
    'disguised_media': {'status': ['failed'], 'class': ['novideo'], 'error': r'no decodable video stream'},
    'corrupt_nal': {'status': ['ok', 'partial'], 'class': ['decode'], 'error': r'damaged input: \d+ decode errors'},
    'undecodable': {'status': ['failed'], 'class': ['decode'], 'error': r'could not be decoded'},
    'symlink_loop': dict(SKIP),
    'fifo_tree': dict(SKIP),
    # FIFOs named on the command line: refused at once, never opened for reading
    'fifo': {'status': ['failed'], 'class': ['notfile'], 'error': r'not a regular file.*fifo'},
    'fifo_stall': {'status': ['failed'], 'class': ['notfile'], 'error': r'not a regular file.*fifo'},
    # a URL that sends the start of a file declaring 1e15 ms, then stalls: the stall cap ends it
    'stalled_url': {'status': ['timeout'], 'class': ['timeout'], 'error': r'no progress for \d+ s \(--stall\)'},
    'lying_duration': {'status': ['ok', 'partial'], 'class': ['truncated', 'decode'], 'distinct': True,
                       'error': r'declares a duration of [\d.]+ s but its video ends at'},
    'huge_duration': {'status': ['ok', 'partial'], 'class': ['truncated', 'decode'], 'distinct': True,
                      'error': r'declares a duration of [\d.]+ s but its video ends at'},
    'playlist': {'status': ['failed'], 'class': ['refused'], 'error': r'refused|security|playlist'},
    'many_tracks': {'status': ['failed'], 'class': ['limit'], 'error': r'--max-streams'},
    # a Y4M header declaring 30000x30000 (FFmpeg refuses the header) or 9000x9000 (--max-pixels)
    'y4m_huge': {'status': ['failed'], 'class': ['limit', 'format'], 'error': r'--max-pixels|invalid header'},
    'self_list': {'status': ['refused'], 'error': r'list|cycle|itself|nest'},
    'hardlink': {'status': ['ok', 'skipped'], 'one_per_group': True},
    'symlink_dup': dict(SKIP),
    'protocol_name': {'status': ['ok'], 'distinct': True},
    'nonvideo': dict(SKIP),
}

# ---------------------------------------------------------------------------
# good clips: (extension, video source, encoder args, with audio)

GOOD = [
    ('mp4', 'testsrc2=size=160x120:rate=25', X264 + ['-g', '25'], 'aac'),
    ('mkv', 'smptebars=size=128x96:rate=25', X264 + ['-g', '12', '-bf', '2'], None),
    ('avi', 'mandelbrot=size=96x64:rate=25', ['-c:v', 'mpeg4', '-q:v', '5'], 'mp3'),
    ('webm', 'rgbtestsrc=size=64x48:rate=25', ['-c:v', 'libvpx-vp9', '-deadline', 'realtime',
                                               '-cpu-used', '8', '-b:v', '200k'], 'opus'),
    ('ts', 'testsrc=size=176x144:rate=25', ['-c:v', 'mpeg2video', '-q:v', '4'], 'mp2'),
    ('mov', 'cellauto=size=80x64:rate=25:rule=30:random_seed=7', ['-c:v', 'mjpeg', '-q:v', '5',
                                                                  '-pix_fmt', 'yuvj420p'], 'pcm_s16le'),
    ('mp4', 'life=size=96x96:rate=25:mold=10:random_seed=3', ['-c:v', 'libx265', '-preset', 'ultrafast',
                                                             '-pix_fmt', 'yuv420p', '-x265-params',
                                                             'log-level=error'], None),
    ('webm', 'testsrc2=size=128x72:rate=25', ['-c:v', 'libvpx', '-deadline', 'realtime',
                                              '-cpu-used', '8', '-b:v', '200k'], 'vorbis'),
    ('flv', 'smptehdbars=size=128x72:rate=25', X264 + ['-g', '25'], 'aac'),
    ('ogv', 'testsrc=size=64x64:rate=25', ['-c:v', 'libtheora', '-q:v', '5'], 'vorbis'),
    ('y4m', 'testsrc2=size=48x32:rate=10', ['-pix_fmt', 'yuv420p'], None),
    ('mkv', 'mandelbrot=size=120x90:rate=30', X264 + ['-g', '30'], 'aac'),
]
AUDIO_ARGS = {'aac': ['-c:a', 'aac', '-b:a', '48k'], 'mp3': ['-c:a', 'libmp3lame', '-b:a', '48k'],
              'opus': ['-c:a', 'libopus', '-b:a', '32k'], 'mp2': ['-c:a', 'mp2', '-b:a', '64k'],
              'pcm_s16le': ['-c:a', 'pcm_s16le'], 'vorbis': ['-c:a', 'libvorbis', '-q:a', '1']}


def ff(args):
    r = subprocess.run(FF + [str(a) for a in args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError('ffmpeg %s failed: %s' % (' '.join(map(str, args)), r.stderr[-2000:]))


def encode_good(i, out):
    ext, src, venc, audio = GOOD[i]
    secs = 1 + (i % 2)
    args = ['-f', 'lavfi', '-i', '%s,hue=H=2*PI*t/%d+%d' % (src, secs, i)]
    if audio:
        args += ['-f', 'lavfi', '-i', 'sine=frequency=%d:sample_rate=44100' % (300 + 50 * i)]
    args += ['-map', '0:v'] + (['-map', '1:a'] + AUDIO_ARGS[audio] + ['-ac', '1'] if audio else [])
    args += ['-t', secs] + venc + ['-metadata', 'title=hostile good clip %d' % i, out]
    ff(args)


def copy_good(base, outs):
    """One ffmpeg writing every copy of one distinct clip (per-file title metadata)."""
    if not outs:
        return
    if base.suffix == '.y4m':   # no metadata in Y4M: byte copies are distinct files too
        for o in outs:
            shutil.copyfile(base, o)
        return
    args = ['-i', base]
    for o in outs:
        args += ['-map', '0', '-c', 'copy', '-metadata', 'title=copy %s' % o.name, o]
    ff(args)


# ---------------------------------------------------------------------------
# helpers for byte surgery

def mp4_boxes(data):
    """Top-level MP4 boxes: [(type, offset, size, header size)]."""
    out, off = [], 0
    while off + 8 <= len(data):
        size, typ = struct.unpack('>I4s', data[off:off + 8])
        hdr = 8
        if size == 1:
            size = struct.unpack('>Q', data[off + 8:off + 16])[0]
            hdr = 16
        elif size == 0:
            size = len(data) - off
        if size < hdr:
            break
        out.append((typ.decode('latin-1'), off, size, hdr))
        off += size
    return out


def mdat_payload(data):
    for typ, off, size, hdr in mp4_boxes(data):
        if typ == 'mdat':
            return off + hdr, off + size
    raise RuntimeError('no mdat box')


def patch_mkv_duration(data, ms):
    """Sets the Segment Info Duration (EBML 0x4489, float) to ms (TimestampScale 1 ms)."""
    i = data.find(b'\x44\x89')
    while i >= 0:
        if data[i + 2] == 0x88:
            return data[:i + 3] + struct.pack('>d', ms) + data[i + 11:]
        if data[i + 2] == 0x84:
            return data[:i + 3] + struct.pack('>f', ms) + data[i + 7:]
        i = data.find(b'\x44\x89', i + 1)
    raise RuntimeError('no Matroska Duration element')


def mkv_duration_ms(data):
    i = data.find(b'\x44\x89\x88')
    return struct.unpack('>d', data[i + 3:i + 11])[0]


# ---------------------------------------------------------------------------
# the materials hostile files are made from (encoded once, in DIR/.gen)

def make_materials(gen):
    gen.mkdir(parents=True, exist_ok=True)
    steps = [
        ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=500',
         '-t', 2] + X264 + ['-g', '25', '-c:a', 'aac', '-ac', '1', '-movflags', '+faststart', gen / 'fs.mp4'],
        ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', 2] + X264 + ['-g', '25', gen / 'end.mp4'],
        ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', 2] + X264 + ['-g', '10', gen / 'base.mkv'],
        ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', 2] + X264 + ['-g', '25', '-bsf:v',
                                                                                  'h264_mp4toannexb',
                                                                                  '-f', 'h264', gen / 'raw.h264'],
        ['-f', 'lavfi', '-i', 'color=c=red:size=32x32:rate=5', '-t', 1] + X264 + [gen / 'tiny.mkv'],
        ['-f', 'lavfi', '-i', 'testsrc=size=320x240', '-frames:v', 1, gen / 'photo.png'],
        ['-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', 1, '-q:v', 5, gen / 'photo.jpg'],
        ['-f', 'lavfi', '-i', 'sine=frequency=440', '-t', 1, '-c:a', 'libmp3lame', '-b:a', '32k', gen / 'tone.mp3'],
        ['-f', 'lavfi', '-i', 'sine=frequency=660', '-t', 1, '-ac', 1, '-ar', 8000, gen / 'tone.wav'],
    ]
    with ThreadPoolExecutor(max_workers=2) as ex:
        list(ex.map(ff, steps))
    # 1,000 tracks: the tiny clip's video stream mapped 1,000 times (stream copy)
    ff(['-i', gen / 'tiny.mkv'] + ['-map', '0:v'] * 1000 + ['-c', 'copy', gen / 'tracks1000.mkv'])


class Lib:
    """Accumulates the library's files and the manifest entries."""

    def __init__(self, root):
        self.root = root
        self.entries = []
        self.gen = root / '.gen'

    def dir_for(self, i):
        """The folder of library slot i: PER_DIR slots a folder."""
        d = self.root / 'lib' / ('d%02d' % (i // PER_DIR))
        d.mkdir(parents=True, exist_ok=True)
        return d

    def rel(self, p):
        return os.path.relpath(p, self.root)

    def entry(self, path, kind, **extra):
        e = {'path': self.rel(path), 'kind': kind, 'expect': KINDS[kind]}
        e.update(extra)
        self.entries.append(e)
        return e

    def material(self, name):
        return (self.gen / name).read_bytes()


# ---------------------------------------------------------------------------
# hostile kinds: each maker writes one variant (v = 0, 1, ...) into folder d and
# returns the number of library entries it made

def mk_truncated(lib, d, v, tag):
    src, pct = [('fs.mp4', 40), ('end.mp4', 50), ('fs.mp4', 75), ('base.mkv', 60)][v % 4]
    data = lib.material(src)
    p = d / ('%s_trunc%d%s' % (tag, pct, Path(src).suffix))
    p.write_bytes(data[:len(data) * pct // 100])
    lib.entry(p, 'truncated')
    return 1


def mk_random(lib, d, v, tag):
    ext = ['mp4', 'mkv', 'avi', 'mov'][v % 4]
    p = d / ('%s_random.%s' % (tag, ext))
    p.write_bytes(random.Random(1000 + v).randbytes([3000, 65536, 300000, 10000][v % 4]))
    lib.entry(p, 'random')
    return 1


def mk_zero(lib, d, v, tag):
    p = d / ('%s_zero.%s' % (tag, ['mp4', 'mkv'][v % 2]))
    p.write_bytes(b'')
    lib.entry(p, 'zero')
    return 1


def mk_wrong_ext(lib, d, v, tag):
    p = d / ('%s_text_named.%s' % (tag, ['mp4', 'mkv'][v % 2]))
    p.write_bytes(b'Meeting notes, not a video.\n' * (40 + v))
    lib.entry(p, 'wrong_ext')
    return 1


def mk_disguised(lib, d, v, tag):
    name, ext = [('photo.png', 'mp4'), ('tone.mp3', 'mp4'), ('photo.jpg', 'mov')][v % 3]
    p = d / ('%s_%s_named.%s' % (tag, Path(name).suffix[1:], ext))
    shutil.copyfile(lib.gen / name, p)
    lib.entry(p, 'disguised_media', content=name)
    return 1


def flip(data, lo, hi, rnd, n):
    b = bytearray(data)
    for _ in range(n):
        i = rnd.randrange(lo, hi)
        b[i] ^= 0xFF
    return bytes(b)


def mk_corrupt_nal(lib, d, v, tag):
    rnd = random.Random(2000 + v)
    if v % 2 == 0:
        data = lib.material('end.mp4')
        lo, hi = mdat_payload(data)
        p = d / ('%s_badnal.mp4' % tag)
        p.write_bytes(flip(data, lo + (hi - lo) // 4, hi, rnd, 24))
    else:
        data = lib.material('raw.h264')
        p = d / ('%s_badnal.h264' % tag)
        p.write_bytes(flip(data, len(data) // 3, len(data), rnd, 24))
    lib.entry(p, 'corrupt_nal')
    return 1


def mk_undecodable(lib, d, v, tag):
    data = lib.material('end.mp4')
    lo, hi = mdat_payload(data)
    junk = random.Random(3000 + v).randbytes(hi - lo)
    p = d / ('%s_undecodable.mp4' % tag)
    p.write_bytes(data[:lo] + junk + data[hi:])
    lib.entry(p, 'undecodable')
    return 1


def mk_symlink_loop(lib, d, v, tag):
    if v % 3 == 0:
        p = d / ('%s_loop' % tag)           # a directory loop: loop -> .. (the folder itself)
        os.symlink('.', p)
    elif v % 3 == 1:
        p = d / ('%s_ping.mp4' % tag)       # ping -> pong -> ping (ELOOP)
        os.symlink('%s_pong.mp4' % tag, p)
        os.symlink(p.name, d / ('%s_pong.mp4' % tag))
        lib.entry(d / ('%s_pong.mp4' % tag), 'symlink_loop')
        lib.entry(p, 'symlink_loop')
        return 2
    else:
        p = d / ('%s_up' % tag)             # up -> ../.. (the library root, above this folder)
        os.symlink('../..', p)
    lib.entry(p, 'symlink_loop')
    return 1


def mk_fifo_tree(lib, d, v, tag):
    p = d / ('%s_pipe.mp4' % tag)
    os.mkfifo(p)
    lib.entry(p, 'fifo_tree')
    return 1


def mk_lying(lib, d, v, tag):
    data = lib.material('base.mkv')
    p = d / ('%s_lying.mkv' % tag)
    p.write_bytes(patch_mkv_duration(data, mkv_duration_ms(data) * LIE_FACTOR))
    lib.entry(p, 'lying_duration')
    return 1


def mk_huge(lib, d, v, tag):
    p = d / ('%s_huge.mkv' % tag)
    p.write_bytes(patch_mkv_duration(lib.material('base.mkv'), HUGE_MS))
    lib.entry(p, 'huge_duration')
    return 1


def mk_playlist(lib, d, v, tag):
    canary = lib.root / 'outside' / 'canary.txt'
    rel_canary = os.path.relpath(canary, d)
    text = [
        '#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n',
        'ffconcat version 1.0\nfile /etc/passwd\nfile %s\n' % rel_canary,
        '#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n%s\n#EXT-X-ENDLIST\n' % canary,
        'ffconcat version 1.0\nfile %s\n' % rel_canary,
    ][v % 4]
    p = d / ('%s_playlist.mp4' % tag)
    p.write_text(text)
    lib.entry(p, 'playlist')
    return 1


def mk_many_tracks(lib, d, v, tag):
    p = d / ('%s_tracks1000.mkv' % tag)
    shutil.copyfile(lib.gen / 'tracks1000.mkv', p)
    lib.entry(p, 'many_tracks')
    return 1


def mk_y4m_huge(lib, d, v, tag):
    side = [30000, 9000][v % 2]
    p = d / ('%s_frame%d.y4m' % (tag, side))
    p.write_bytes(b'YUV4MPEG2 W%d H%d F25:1 Ip A1:1 C420jpeg\nFRAME\n' % (side, side) + bytes(4096))
    lib.entry(p, 'y4m_huge')
    return 1


def d00_good(lib, v):
    return sorted(p for p in (lib.root / 'lib' / 'd00').iterdir() if p.name.startswith('good_'))[v % 3]


def mk_hardlink(lib, d, v, tag):
    """A hard link to a good clip of folder d00: the same file under two names."""
    orig = d00_good(lib, v)
    hl = d / ('%s_hardlink%s' % (tag, orig.suffix))
    os.link(orig, hl)
    group = lib.rel(orig)
    lib.entry(hl, 'hardlink', group=group)
    for e in lib.entries:
        if e['path'] == group:
            e['group'] = group
            e['expect'] = KINDS['hardlink']
    return 1


def mk_symlink_dup(lib, d, v, tag):
    """A symlink to a good clip of folder d00, or to the folder d00 itself."""
    orig = d00_good(lib, v)
    if v % 2:
        p = d / ('%s_alias_dir' % tag)
        os.symlink(os.path.relpath(orig.parent, d), p)
    else:
        p = d / ('%s_symlink%s' % (tag, orig.suffix))
        os.symlink(os.path.relpath(orig, d), p)
    lib.entry(p, 'symlink_dup')
    return 1


def mk_protocol_name(lib, d, v, tag):
    orig = d00_good(lib, 0)
    p = d / ('concat:%s_a.mp4|%s_b.mp4' % (tag, tag))
    shutil.copyfile(orig, p)
    lib.entry(p, 'protocol_name')
    return 1


def mk_nonvideo(lib, d, v, tag):
    name, data = [('photo.jpg', lib.material('photo.jpg')), ('photo.png', lib.material('photo.png')),
                  ('song.mp3', lib.material('tone.mp3')), ('notes.txt', b'shopping list\n' * 10),
                  ('memo.wav', lib.material('tone.wav')),
                  ('paper.pdf', b'%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n'),
                  ('list.m3u8', b'#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n'
                                b'#EXT-X-ENDLIST\n')][v % 7]
    p = d / ('%s_%s' % (tag, name))
    p.write_bytes(data)
    lib.entry(p, 'nonvideo', content=name)
    return 1


# kind -> (maker, variants worth making, most copies in a library)
MAKERS = {
    'truncated': (mk_truncated, 4, None), 'random': (mk_random, 4, None), 'zero': (mk_zero, 2, None),
    'wrong_ext': (mk_wrong_ext, 2, None), 'disguised_media': (mk_disguised, 3, None),
    'corrupt_nal': (mk_corrupt_nal, 2, None), 'undecodable': (mk_undecodable, 1, None),
    'symlink_loop': (mk_symlink_loop, 3, 6), 'fifo_tree': (mk_fifo_tree, 1, 2),
    'lying_duration': (mk_lying, 1, None), 'huge_duration': (mk_huge, 1, 4),
    'playlist': (mk_playlist, 4, None), 'many_tracks': (mk_many_tracks, 1, 3),
    'y4m_huge': (mk_y4m_huge, 2, 4), 'hardlink': (mk_hardlink, 1, 3),
    'symlink_dup': (mk_symlink_dup, 2, 6), 'protocol_name': (mk_protocol_name, 1, 2),
    'nonvideo': (mk_nonvideo, 7, None),
}
SPECIAL = ('fifo', 'fifo_stall', 'stalled_url', 'self_list')   # inputs named on the command line


def entries_of(kind, v):
    """Library entries one (kind, variant) makes: the ping/pong symlink pair makes two."""
    return 2 if kind == 'symlink_loop' and v % 3 == 1 else 1


def hostile_plan(n_hostile, omit=()):
    """(kind, variant) pairs: every variant of every kind once (the minimum), then
    round-robin repeats up to n_hostile (each kind at most its 'most' times)."""
    makers = {k: m for k, m in MAKERS.items() if k not in omit}
    uses = {k: 0 for k in makers}
    plan = []

    def add(k):
        plan.append((k, uses[k]))
        uses[k] += 1

    for r in range(max([v for _, v, _ in makers.values()] + [0])):
        for k, (_, variants, _) in makers.items():
            if r < variants:
                add(k)
    while len(plan) < n_hostile:
        row = [k for k, (_, _, most) in makers.items() if most is None or uses[k] < most]
        for k in row[:n_hostile - len(plan)]:
            add(k)
    return plan


# ---------------------------------------------------------------------------
# the special inputs (named on the command line) and the stalling writer

def make_special(lib, omit):
    """FIFOs and the self-including @list, named on the command line (not walked)."""
    sp = lib.root / 'special'
    sp.mkdir(parents=True, exist_ok=True)
    out = {'inputs': [], 'writers': [], 'list_runs': [], 'servers': []}
    huge = patch_mkv_duration(lib.material('base.mkv'), HUGE_MS)
    if 'fifo' not in omit:
        nowriter = sp / 'fifo_nowriter.mp4'
        os.mkfifo(nowriter)
        lib.entry(nowriter, 'fifo')
        out['inputs'].append(lib.rel(nowriter))
    if 'fifo_stall' not in omit:
        # a writer sends the first third of a file declaring 1e15 ms (enough to open it and
        # learn the duration), keeps the pipe open and sends nothing more
        stall = sp / 'fifo_stall.mkv'
        os.mkfifo(stall)
        lib.entry(stall, 'fifo_stall')
        header = lib.gen / 'stall_header.bin'
        header.write_bytes(huge[:len(huge) // 3])
        out['inputs'].append(lib.rel(stall))
        out['writers'].append({'fifo': lib.rel(stall), 'header': lib.rel(header)})
    if 'stalled_url' not in omit:
        # served by check_hostile.StallServer: the first third, then nothing (URL known at run time)
        data = lib.gen / 'huge_full.mkv'
        data.write_bytes(huge)
        out['servers'].append({'url': 'stall.mkv', 'data': lib.rel(data), 'upto': len(huge) // 3})
        lib.entries.append({'path': 'URL/stall.mkv', 'url': 'stall.mkv', 'kind': 'stalled_url',
                            'expect': KINDS['stalled_url']})
    if 'self_list' not in omit:
        # a list that names itself (absolute path) and one good clip; its own invocation
        good = sp / 'listed_good.mp4'
        shutil.copyfile(lib.gen / 'fs.mp4', good)
        lst = sp / 'self.txt'
        lst.write_text('# a list that includes itself\n@%s\n%s\n' % (lst, good))
        lib.entry(lst, 'self_list', run='self_list')
        lib.entry(good, 'good', run='self_list')
        out['list_runs'].append({'kind': 'self_list', 'args': ['@' + lib.rel(lst)]})
    return out


def feed_fifo(fifo, header):
    """Opens FIFO for writing (blocks until a reader comes), writes HEADER, never ends."""
    data = Path(header).read_bytes()
    while True:
        fd = os.open(fifo, os.O_WRONLY)
        try:
            os.write(fd, data)
        except BrokenPipeError:
            pass
        time.sleep(3600 * 24)   # keeps the write end open: the reader stalls
        os.close(fd)


# ---------------------------------------------------------------------------

def build(root, count, share, jobs, seed, omit=()):
    root = Path(root).resolve()
    if root.exists():
        shutil.rmtree(root)
    lib = Lib(root)
    (root / 'outside').mkdir(parents=True)
    token = hashlib.sha256(b'vidx canary %d' % seed).hexdigest()
    (root / 'outside' / 'canary.txt').write_text(
        'CANARY-%s: a file outside the library; no byte of it may reach an output.\n' % token * 8)
    t0 = time.time()
    make_materials(lib.gen)
    plan = hostile_plan(round(count * share), omit)
    n_good = max(count - sum(entries_of(k, v) for k, v in plan), 3)
    # good clips (the duplicates refer to those of folder d00) with the hostile entries
    # interleaved at random positions after the first half folder
    n_total = n_good + len(plan)
    first = PER_DIR // 2 if n_total - len(plan) > PER_DIR // 2 else n_total - len(plan)
    hostile_slots = sorted(random.Random(seed).sample(range(first, n_total), len(plan)))
    good_slots = [s for s in range(n_total) if s not in set(hostile_slots)]
    distinct = min(len(GOOD), n_good)
    firsts, copies = {}, {b: [] for b in range(distinct)}
    for k, s in enumerate(good_slots):
        b = k % distinct
        p = lib.dir_for(s) / ('good_%05d.%s' % (k, GOOD[b][0]))
        if b in firsts:
            copies[b].append(p)
        else:
            firsts[b] = p
        lib.entry(p, 'good', clip=b)
    with ThreadPoolExecutor(max_workers=jobs) as ex:
        list(ex.map(lambda b: encode_good(b, firsts[b]), range(distinct)))
        list(ex.map(lambda b: copy_good(firsts[b], copies[b]), range(distinct)))
    for (kind, v), s in zip(plan, hostile_slots):
        MAKERS[kind][0](lib, lib.dir_for(s), v, 'h%03d' % s)
    special = make_special(lib, omit)
    manifest = {
        'version': 1, 'seed': seed, 'count': count, 'omitted': sorted(omit),
        'good': sum(1 for e in lib.entries if e['kind'] == 'good' and e['path'].startswith('lib/')),
        'hostile': sum(1 for e in lib.entries if e['kind'] != 'good' and e['path'].startswith('lib/')),
        'inputs': ['lib'] + special['inputs'],
        'secrets': ['/etc/passwd', 'outside/canary.txt'],
        'canary_token': token,
        'writers': special['writers'],
        'list_runs': special['list_runs'],
        'servers': special['servers'],
        'entries': lib.entries,
        'seconds': round(time.time() - t0, 2),
    }
    tmp = root / 'manifest.json.tmp'
    tmp.write_text(json.dumps(manifest, indent=1) + '\n')
    os.rename(tmp, root / 'manifest.json')
    return manifest


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('dir', nargs='?')
    ap.add_argument('--count', type=int, default=1000)
    ap.add_argument('--hostile-share', type=float, default=0.1)
    ap.add_argument('--jobs', type=int, default=int(os.environ.get('JOBS', '2')))
    ap.add_argument('--seed', type=int, default=8)
    ap.add_argument('--omit', default='', help='comma-separated hostile kinds to leave out')
    ap.add_argument('--feed-fifo', nargs=2, metavar=('FIFO', 'HEADER'))
    a = ap.parse_args()
    if a.feed_fifo:
        feed_fifo(*a.feed_fifo)
        return 0
    if not a.dir:
        ap.error('DIR is required')
    omit = {k for k in a.omit.split(',') if k}
    unknown = omit - set(MAKERS) - set(SPECIAL)
    if unknown:
        ap.error('unknown kinds: %s' % ', '.join(sorted(unknown)))
    m = build(a.dir, a.count, a.hostile_share, a.jobs, a.seed, omit)
    kinds = {}
    for e in m['entries']:
        kinds[e['kind']] = kinds.get(e['kind'], 0) + 1
    print('%s: %d library entries (%d good, %d hostile) in %.1fs; kinds: %s' % (
        a.dir, m['good'] + m['hostile'], m['good'], m['hostile'], m['seconds'],
        ', '.join('%s %d' % kv for kv in sorted(kinds.items()))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
