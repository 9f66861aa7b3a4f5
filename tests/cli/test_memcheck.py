"""vidx under valgrind memcheck: a batch run and a single-video run are clean.

    /usr/bin/python3 tests/cli/run.py -k memcheck::

  batch_files    `vidx run` over good fixtures and bad inputs (empty, random bytes,
                 truncated, a text file), files layout, WAV audio, --dedup: the
                 supervisor and every worker exit with no memory error and no
                 definite or indirect leak
  batch_shards   the same with --layout shards and --dedup-exact
  frames_pool    `vidx frames` on the long fixture with 3 threads (the parallel GOP
                 decoder pool) and `vidx probe`
  transcribe_http  `vidx transcribe --asr-url` (libcurl, jansson) against the loopback
                 server of test_transcribe.py: four chunks, one retried after a 500

Every process valgrind traced must have written a complete report (a worker that
was killed instead of exiting would leave none, and would hide its leaks).
Two helpers, both in tests/valgrind/, make this possible on any machine:
libhwy_timer.so (built by meson; see its header) and vidx.supp (the one block a
forked worker inherits from the supervisor's catalog). Skipped without valgrind
and for sanitizer builds (ASan and valgrind exclude each other).
"""
import re
import shutil
import subprocess
from pathlib import Path

import common
from common import Skip, check, fail, note

SUPP = common.REPO / 'tests' / 'valgrind' / 'vidx.supp'
TIMEOUT = 200


def _shim():
    b = common.vidx_bin().resolve()
    shim = b.parents[2] / 'tests' / 'libhwy_timer.so'
    if not shim.is_file():
        fail('valgrind shim not built: %s (ninja -C %s)' % (shim, b.parents[2]))
    return shim


def _require_valgrind():
    common.require_vidx()
    if not shutil.which('valgrind'):
        raise Skip('valgrind not installed (scripts/deps.sh installs it)')
    ldd = subprocess.run(['ldd', str(common.vidx_bin())], capture_output=True, text=True).stdout
    if 'libasan' in ldd:
        raise Skip('sanitizer build: valgrind cannot run ASan binaries')


def _memcheck(tag, args):
    """Runs vidx ARGS under memcheck; returns (result, {pid: log text})."""
    _require_valgrind()
    logs = common.new_out_dir(tag + '-logs')
    logs.mkdir(parents=True)
    # --num-callers: deep enough that vidx.supp's catalog-inherited-across-fork finds
    # vidx__catalog_open_with under SQLite's own frames (creating a table is 15 deep)
    cmd = ['valgrind', '--trace-children=yes', '--leak-check=full', '--num-callers=40',
           '--show-leak-kinds=definite,indirect,possible',
           '--errors-for-leak-kinds=definite,indirect,possible',
           '--suppressions=%s' % SUPP, '--error-exitcode=99',
           '--log-file=%s/vg.%%p.log' % logs,
           'env', 'LD_PRELOAD=%s' % _shim(), str(common.vidx_bin())] + [str(a) for a in args]
    res = common.run(cmd, timeout=TIMEOUT)
    reports = {p.name: p.read_text(errors='replace') for p in sorted(logs.glob('vg.*.log'))}
    return res, reports


def _check_reports(res, reports, min_processes):
    check(not res.timed_out, 'valgrind run timed out:\n' + res.describe())
    check(res.rc != 99, 'valgrind found errors:\n' + res.describe())
    vidx_logs = {k: v for k, v in reports.items() if re.search(r'Command: .*/vidx ', v)}
    check(len(vidx_logs) >= min_processes,
          'expected >= %d vidx processes under valgrind, got %d' % (min_processes, len(vidx_logs)))
    for name, text in vidx_logs.items():
        m = re.search(r'ERROR SUMMARY: (\d+) errors', text)
        check(m is not None, '%s: no ERROR SUMMARY: the process did not exit normally\n%s'
              % (name, text[-2000:]))
        check(m.group(1) == '0', '%s: %s memory errors\n%s' % (name, m.group(1), text[-4000:]))
        for kind in ('definitely', 'indirectly', 'possibly'):
            k = re.search(r'%s lost: ([\d,]+) bytes' % kind, text)
            if k:
                check(k.group(1) == '0', '%s: %s lost %s bytes\n%s' % (name, kind, k.group(1), text[-4000:]))
    note('%d vidx processes checked (supervisor and workers), all clean' % len(vidx_logs))


def _library(tag):
    fx = common.fixtures_dir()
    lib = common.new_out_dir(tag + '-lib')
    lib.mkdir(parents=True)
    for name in ('cfr.mp4', 'vfr.mkv', 'rot90.mp4', 'mpeg4.avi', 'hevc10.mp4', 'off.mp4'):
        (lib / name).symlink_to(fx / name)
    for name in ('empty.mp4', 'random.mp4', 'trunc.mkv', 'text.mp4'):
        (lib / ('bad_' + name)).symlink_to(fx / 'bad' / name)
    return lib


def _batch(tag, extra):
    lib = _library(tag)
    out = common.new_out_dir(tag)
    # The library is symlinks to the fixtures: walks follow them only when asked to.
    res, reports = _memcheck(tag, ['run', lib, '-o', out, '--count', '4', '--size', '160',
                                   '--audio', 'wav', '--jobs', '2', '--progress', 'none',
                                   '--follow-symlinks'] + extra)
    check(res.rc == 1, 'expected exit 1 (the bad inputs fail), got %s\n%s' % (res.rc, res.describe()))
    _check_reports(res, reports, 3)


def test_batch_files():
    _batch('memcheck-files', ['--dedup', '4'])


def test_batch_shards():
    _batch('memcheck-shards', ['--layout', 'shards', '--dedup-exact'])


def test_frames_pool():
    src = common.fixture('long.mp4')
    out = common.new_out_dir('memcheck-frames')
    res, reports = _memcheck('memcheck-frames', ['frames', src, '-o', out, '--count', '6',
                                                 '--threads', '3', '--size', '160'])
    check(res.rc == 0, 'vidx frames failed under valgrind\n' + res.describe())
    check(len(list(Path(out).glob('*.jpg'))) == 6, 'expected 6 frames in %s' % out)
    _check_reports(res, reports, 1)
    res, reports = _memcheck('memcheck-probe', ['probe', src])
    check(res.rc == 0, 'vidx probe failed under valgrind\n' + res.describe())
    _check_reports(res, reports, 1)


def test_transcribe_http():
    from test_transcribe import Asr, make_audio
    _require_valgrind()
    path = make_audio('memcheck-asr', '0.5*sin(2*PI*440*t)*lt(mod(t,7),6.5)', 25)
    # key=None: the server takes any key; --asr-key-env HOME sends one (the Bearer path)
    with Asr(['500'], key=None) as asr:  # pauses at 7, 14, 21 s: 4 chunks, + 1 retry
        res, reports = _memcheck('memcheck-asr', ['transcribe', path, '--asr-url', asr.url, '--chunk', '10',
                                                  '--asr-key-env', 'HOME', '--format', 'srt'])
    check(res.rc == 0, 'vidx transcribe failed under valgrind\n' + res.describe())
    check(len(asr.requests) == 5 and not asr.problems, 'requests %d %s' % (len(asr.requests), asr.problems))
    _check_reports(res, reports, 1)
