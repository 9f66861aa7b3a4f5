"""`vidx run --transcribe --asr-url URL`: the transcript from the same read as the frames
(issue 11, item 3), against the loopback OpenAI-compatible server of test_transcribe.py.

  run_transcribe        a 5 s video with audio, run with --audio wav --transcribe: one
                        request of the whole 5 s (16 kHz mono WAV); frames/<key>/ holds
                        transcript.json (the same as `vidx transcribe`), .srt and .vtt,
                        and audio.wav; the catalog's segments table (vidx export --table
                        segments) has the two segments; gc keeps the transcript; the key
                        never appears in the output
  merge_shots_segments  two outputs run with --scenes --transcribe (one of them with
                        psd_testvideo.mp4: 4 shots, no audio) merged by vidx merge: the
                        merged catalog's shots and segments tables hold exactly the parts'
                        rows
  run_asr_settings      --asr-retries, --asr-timeout and --asr-chunk reach vidx run's
                        recogniser: no retry after a 500 with --asr-retries 0 (the video
                        fails, the run exits 1), a stall past --asr-timeout 1 fails it as
                        timed out, a 12 s file with --asr-chunk 5 is sent as 3 requests
  run_transcribe_usage  --asr-url without --transcribe, and --transcribe with --audio at
                        44.1 kHz, are usage errors (exit 2), nothing written
"""
import json
import os

from common import Failures, corpus_clip, fail, run, vidx_bin
from test_transcribe import KEY, SPEECH, Asr, make_audio


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ('VIDX_ASR_KEY', 'OPENAI_API_KEY')}
    env['VIDX_ASR_KEY'] = KEY
    return env


def _vidx(args):
    r = run([vidx_bin()] + [str(a) for a in args], env=_env())
    if KEY in r.stdout or KEY in r.stderr:
        raise AssertionError('the API key leaked: %s' % r.describe())
    return r


def test_run_transcribe():
    src = make_audio('run_asr', SPEECH, 5, ext='mp4', video=True)
    out = src.parent / 'out'
    F = Failures('run --transcribe')
    with Asr() as asr:
        r = _vidx(['run', src, '-o', out, '--count', 3, '--audio', 'wav', '--transcribe',
                   '--asr-url', asr.url])
        one = _vidx(['transcribe', src, '--asr-url', asr.url])
    F.check(r.rc == 0 and one.rc == 0, 'run: %s\ntranscribe: %s' % (r.describe(), one.describe()))
    F.check(not asr.problems, '; '.join(asr.problems))
    F.check(len(asr.requests) == 2 and abs(asr.requests[0][1] - 5.0) < 0.05,
            'requests (run, then transcribe): %r' % [q[1] for q in asr.requests])
    dirs = list(out.glob('frames/*/'))
    F.check(len(dirs) == 1, 'video folders: %s' % dirs)
    if dirs:
        d = dirs[0]
        names = sorted(p.name for p in d.iterdir())
        for n in ('transcript.json', 'transcript.srt', 'transcript.vtt', 'audio.wav'):
            F.check(n in names, '%s missing from %s' % (n, names))
        if 'transcript.json' in names and one.rc == 0:
            F.check(json.loads((d / 'transcript.json').read_text()) == json.loads(one.stdout),
                    'transcript.json differs from vidx transcribe:\n  %s\n  %s'
                    % ((d / 'transcript.json').read_text(), one.stdout))
        if 'transcript.vtt' in names:
            F.check((d / 'transcript.vtt').read_text().startswith('WEBVTT'), 'not a WebVTT file')
    e = _vidx(['export', out, '--table', 'segments'])
    rows = [json.loads(l) for l in e.stdout.splitlines()]
    F.check(e.rc == 0 and [(x['seq'], x['text'].strip()) for x in rows] ==
            [(0, 'first half 5.000'), (1, 'second half')], 'segments: %s' % e.describe())
    F.check(rows and abs(rows[-1]['end'] - 5.0) < 0.05, 'segment times: %r' % rows)
    g = _vidx(['gc', out])
    F.check(g.rc == 0 and len(list(out.glob('frames/*/transcript.*'))) == 3,
            'gc: %s; %s' % (g.describe(), list(out.glob('frames/*/transcript.*'))))
    F.raise_if_any()


def _status_errors(out):
    r = _vidx(['export', out, '--table', 'videos'])
    return [(v['status'], v.get('error') or '') for v in map(json.loads, r.stdout.splitlines())]


def test_run_asr_settings():
    src = make_audio('run_asr_set', '0.5*sin(2*PI*440*t)*lt(mod(t,4),3.5)', 12, ext='mp4',
                     video=True)
    F = Failures('run --asr-timeout/--asr-retries/--asr-chunk')
    with Asr(['500'] * 3) as asr:
        out = src.parent / 'retries'
        r = _vidx(['run', src, '-o', out, '--count', 1, '--transcribe', '--asr-url', asr.url,
                   '--asr-retries', 0, '--progress', 'none'])
        F.check(r.rc == 1 and len(asr.requests) == 1, '--asr-retries 0: %d requests: %s'
                % (len(asr.requests), r.describe()))
        st = _status_errors(out)
        F.check(len(st) == 1 and st[0][0] == 'failed' and 'HTTP 500' in st[0][1], 'video: %r' % st)
    with Asr(['stall'] * 3) as asr:
        out = src.parent / 'timeout'
        r = _vidx(['run', src, '-o', out, '--count', 1, '--transcribe', '--asr-url', asr.url,
                   '--asr-timeout', 1, '--asr-retries', 0, '--progress', 'none'])
        st = _status_errors(out)
        F.check(r.rc == 1 and len(asr.requests) == 1 and len(st) == 1 and st[0][0] == 'failed'
                and 'no answer within 1 s' in st[0][1], '--asr-timeout 1: %r: %s' % (st, r.describe()))
    with Asr() as asr:
        out = src.parent / 'chunk'
        r = _vidx(['run', src, '-o', out, '--count', 1, '--transcribe', '--asr-url', asr.url,
                   '--asr-chunk', 5, '--progress', 'none'])
        durs = [q[1] for q in asr.requests]
        F.check(r.rc == 0 and len(durs) == 3 and all(d <= 5.0 for d in durs),
                '--asr-chunk 5: requests %r: %s' % (durs, r.describe()))
        e = _vidx(['export', out, '--table', 'segments'])
        F.check(len(e.stdout.splitlines()) == 6, 'segments: %s' % e.stdout)
    F.raise_if_any()


def test_run_transcribe_usage():
    src = make_audio('run_asr_usage', SPEECH, 1, ext='mp4', video=True)
    F = Failures('run --transcribe usage')
    for i, extra in enumerate((['--asr-url', 'http://127.0.0.1:9'], ['--asr-retries', '2'],
                               ['--transcribe', '--asr-timeout', '0'],
                               ['--transcribe', '--audio', 'wav', '--audio-rate', 44100])):
        out = src.parent / ('out%d' % i)
        r = _vidx(['run', src, '-o', out, '--count', 1] + extra)
        F.check(r.rc == 2 and not out.exists(), '%s: %s' % (extra, r.describe()))
    F.raise_if_any()


def _rows(out, table):
    e = _vidx(['export', out, '--table', table])
    if e.rc != 0:
        fail('export %s %s: %s' % (out, table, e.describe()))
    return sorted((json.dumps(json.loads(l), sort_keys=True) for l in e.stdout.splitlines()))


def test_merge_shots_segments():
    psd = corpus_clip('psd_testvideo.mp4')
    a_src = make_audio('merge_asr_a', SPEECH, 4, ext='mp4', video=True)
    b_src = make_audio('merge_asr_b', SPEECH, 3, ext='mp4', video=True)
    a, b, m = a_src.parent / 'a', b_src.parent / 'b', a_src.parent / 'merged'
    F = Failures('merge: shots and segments')
    with Asr() as asr:
        for src, out in (([a_src], a), ([b_src, psd], b)):
            r = _vidx(['run'] + src + ['-o', out, '--count', 2, '--scenes', '--transcribe',
                                       '--asr-url', asr.url])
            if r.rc != 0:
                fail('run: %s' % r.describe())
    r = _vidx(['merge', '-o', m, a, b])
    F.check(r.rc == 0, 'merge: %s' % r.describe())
    for table in ('shots', 'segments'):
        parts = sorted(_rows(a, table) + _rows(b, table))
        merged = _rows(m, table)
        F.check(merged == parts, '%s: merged %d rows, the parts %d:\n  %s\n  %s'
                % (table, len(merged), len(parts), merged, parts))
    shots = [json.loads(x) for x in _rows(m, 'shots')]
    F.check(sorted(s['first_frame'] for s in shots if s['video'] == str(psd)) == [0, 30, 180, 394, 543],
            'psd_testvideo\'s shots in the merged catalog: %r' % shots)
    segs = [json.loads(x) for x in _rows(m, 'segments')]
    F.check(len(segs) == 4 and not any(s['video'] == str(psd) for s in segs),
            'segments in the merged catalog (2 per video with audio): %r' % segs)
    F.raise_if_any()
