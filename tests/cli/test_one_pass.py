"""One read of the file: frames, audio, shots and the transcript's audio come from a single
open and demux. The proof counts, with strace, every open of the input (and FFmpeg's
reopen of the opened descriptor through /proc/self/fd) and every byte read from it: one
open, and the file's size read once (at most 64 KiB more: FFmpeg's buffer read again
around the seek to an index at the end; never a second pass, which would read it twice).
The clip is small (100 KiB, moov last), so a second pass would show at once.
"""
import os
import re
import shutil

import common
from common import Failures, check, fail
from test_run import fixtures, vrun


def _count(trace, path):
    """Per process: opens of path, reopens through /proc/self/fd (FFmpeg's file protocol
    on the descriptor vidx opened), and bytes read from those descriptors."""
    per, fds = {}, {}
    name = re.escape(path)
    for line in open(trace, errors='replace'):
        m = re.match(r'(\d+)\s+(.*)$', line)
        if not m:
            continue
        pid, call = int(m.group(1)), m.group(2)
        st = per.setdefault(pid, {'opens': 0, 'reopens': 0, 'bytes': 0})
        mine = fds.setdefault(pid, set())
        m = re.match(r'openat\(AT_FDCWD, "%s".*= (\d+)$' % name, call)
        if m:
            mine.add(int(m.group(1)))
            st['opens'] += 1
            continue
        m = re.match(r'openat\(AT_FDCWD, "/proc/self/fd/(\d+)".*= (\d+)$', call)
        if m and int(m.group(1)) in mine:
            mine.add(int(m.group(2)))
            st['reopens'] += 1
            continue
        m = re.match(r'(?:read|pread64|readv)\((\d+),.*= (\d+)$', call)
        if m and int(m.group(1)) in mine:
            st['bytes'] += int(m.group(2))
        m = re.match(r'close\((\d+)\)', call)
        if m:
            mine.discard(int(m.group(1)))
    return {pid: st for pid, st in per.items() if st['opens'] or st['bytes']}


def _traced(tag, args):
    if not shutil.which('strace'):
        fail('strace is not installed (scripts/deps.sh installs it)')
    d = common.new_out_dir(tag)
    d.mkdir(parents=True)
    trace = d / 'trace'
    r = vrun(['--version'])  # the binary exists
    check(r.rc == 0, r.describe())
    env = dict(os.environ)
    if env.get('ASAN_OPTIONS'):  # LeakSanitizer cannot run under ptrace; the others check leaks
        env['ASAN_OPTIONS'] += ':detect_leaks=0'
    res = common.run(['strace', '-f', '-qq', '-e', 'trace=openat,read,pread64,readv,close',
                      '-o', str(trace), str(common.vidx_bin())] + [str(a) for a in args],
                     timeout=240, env=env)
    return d, trace, res


def _check_one_read(F, trace, path, what):
    """One process demuxes the file: it opens it once and reads it once. Others may only
    read a little of it (vidx run's supervisor reads a fingerprint: head and tail)."""
    size = os.path.getsize(path)
    per = _count(trace, os.path.realpath(path))
    demux = [pid for pid, st in per.items() if st['reopens']]
    F.check(len(demux) == 1, '%s: %d processes demuxed the file: %s' % (what, len(demux), per))
    for pid, st in per.items():
        if pid in demux:
            F.check(st['opens'] == 1 and st['reopens'] == 1,
                    '%s: the demuxing process opened it %d times (%d reopens)'
                    % (what, st['opens'], st['reopens']))
            # One read, plus at most two of FFmpeg's 32 KiB buffers read again around the
            # seek to an index at the end (an MP4 with its moov last) and back.
            F.check(0.95 * size <= st['bytes'] <= size + 64 * 1024,
                    '%s: %d bytes read from a file of %d (one read of it: at most the size '
                    '+ 64 KiB)' % (what, st['bytes'], size))
            common.note('%s: 1 open, %d bytes read of %d (%.1f %%)'
                        % (what, st['bytes'], size, 100.0 * st['bytes'] / size))
        else:
            F.check(st['bytes'] <= 256 * 1024, '%s: process %d read %d bytes of it too'
                    % (what, pid, st['bytes']))


def test_frames_audio_scenes_one_read():
    clip = fixtures() / 'g_audio.mp4'
    out = common.new_out_dir('one_pass_frames_out')
    d, trace, res = _traced('one_pass_frames', ['frames', clip, '-o', out, '--count', '5',
                                               '--audio', 'wav', '--scenes'])
    F = Failures('vidx frames --audio --scenes')
    F.check(res.rc == 0, res.describe())
    _check_one_read(F, trace, clip, 'frames + audio + scenes')
    F.raise_if_any()


def test_run_frames_audio_scenes_transcript_one_read():
    """vidx run with every per-video product: the worker process reads the file once."""
    clip = fixtures() / 'g_audio.mp4'
    out = common.new_out_dir('one_pass_run_out')
    d, trace, res = _traced('one_pass_run', ['run', clip, '-o', out, '--count', '5', '--audio',
                                             'wav', '--scenes', '--transcribe', '--jobs', '1',
                                             '--progress', 'none'])
    F = Failures('vidx run --audio --scenes --transcribe')
    F.check(res.rc == 0, res.describe())
    for name in ('scenes.json', 'transcript.json', 'audio.wav'):
        F.check(any(p.name == name for p in out.rglob(name)), 'no %s in the output' % name)
    _check_one_read(F, trace, clip, 'run: frames + audio + scenes + transcript')
    F.raise_if_any()


def test_per_scene_two_reads():
    """--per-scene is the one mode that reads the file twice (docs/CLI.md, "Sampling by
    shot"): once decoding every picture to find the shots, then once more for the chosen
    frames, with audio. Counted as above: one process, one open, two demuxer opens (the
    rewind reopens through /proc/self/fd), twice the file's size read."""
    clip = fixtures() / 'g_audio.mp4'
    out = common.new_out_dir('one_pass_per_scene_out')
    d, trace, res = _traced('one_pass_per_scene', ['frames', clip, '-o', out, '--per-scene', '2',
                                                   '--audio', 'wav'])
    F = Failures('vidx frames --per-scene 2 --audio')
    F.check(res.rc == 0, res.describe())
    size = os.path.getsize(clip)
    per = _count(trace, os.path.realpath(str(clip)))
    F.check(len(per) == 1, 'processes that read the file: %s' % per)
    for pid, st in per.items():
        F.check(st['opens'] == 1 and st['reopens'] == 2, 'opens %d, reopens %d (expected 1 and 2)'
                % (st['opens'], st['reopens']))
        F.check(1.95 * size <= st['bytes'] <= 2 * (size + 64 * 1024),
                '%d bytes read from a file of %d (two reads of it)' % (st['bytes'], size))
        common.note('per-scene: %d bytes read of %d (%.2f x the file)'
                    % (st['bytes'], size, st['bytes'] / size))
    F.raise_if_any()
