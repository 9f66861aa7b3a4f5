"""`vidx run --scenes`: shots from the same decode as the sampled frames (issue 11, item 2).

psd_testvideo.mp4 (corpus) has cuts at frames 30, 180 and 394, and a dissolve found at 543.

  run_scenes_files    files layout: frames/<key>/scenes.json and the catalog's shots table
                      (vidx export --table shots) give first frames 0, 30, 180, 394, 543, the same
                      shots as `vidx scenes`; the frames sampled are the same as a run without
                      --scenes; a second run does nothing (the options hash is stable); gc
                      keeps scenes.json and leaves the user's files alone; verify is clean;
                      vidx merge carries scenes.json; the input is untouched
  run_scenes_shards   shards layout: scenes.json beside the manifest in frames/<key>/, the
                      same shots in the catalog
"""
import json
import os

from common import Failures, corpus_clip, fail, new_out_dir, parse_json_stdout, run_vidx

FIRST = [0, 30, 180, 394, 543]


def _run(src, out, *extra):
    r = run_vidx(['run', src, '-o', out, '--count', 5] + list(extra))
    if r.rc != 0:
        fail('run %s: %s' % (' '.join(map(str, extra)), r.describe()))
    return r


def _export(out, table):
    r = run_vidx(['export', out, '--table', table])
    if r.rc != 0:
        fail('export %s: %s' % (table, r.describe()))
    return [json.loads(line) for line in r.stdout.splitlines()]


def _scenes_json(out):
    found = sorted(out.glob('frames/*/scenes.json'))
    if len(found) != 1:
        fail('scenes.json files: %s' % found)
    return json.loads(found[0].read_text())


def _frames(out):
    return [(f['index'], f['time'], f['checksum']) for f in _export(out, 'frames')]


def _shots_match(F, label, shots, ref):
    F.check([s['first_frame'] for s in shots] == FIRST,
            '%s: first frames %r, expected %r' % (label, [s['first_frame'] for s in shots], FIRST))
    keys = ('start', 'end', 'first_frame', 'last_frame', 'cause')
    F.check([[s[k] for k in keys] for s in shots] == [[s[k] for k in keys] for s in ref],
            '%s differs from vidx scenes:\n  %r\n  %r' % (label, shots, ref))


def _reference(src):
    r = run_vidx(['scenes', src])
    if r.rc != 0:
        fail('scenes: %s' % r.describe())
    return parse_json_stdout(r, 'scenes')['shots']


def test_run_scenes_files():
    src = corpus_clip('psd_testvideo.mp4')
    before = os.stat(src)
    d = new_out_dir('run_scenes')
    out, plain = d / 'out', d / 'plain'
    F = Failures('run --scenes (files)')
    ref = _reference(src)
    _run(src, out, '--scenes')
    _run(src, plain)
    j = _scenes_json(out)
    F.check(j.get('frames') == 720 and j.get('partial') is False, 'scenes.json: %r' % j)
    _shots_match(F, 'scenes.json', j['shots'], ref)
    _shots_match(F, 'export --table shots', _export(out, 'shots'), ref)
    F.check(_frames(out) == _frames(plain), 'the frames differ with --scenes:\n  %r\n  %r'
            % (_frames(out), _frames(plain)))
    F.check(not list(plain.glob('frames/*/scenes.json')) and _export(plain, 'shots') == [],
            'a run without --scenes wrote shots')
    (out / 'notes.txt').write_text('mine')
    (out / 'scenes.json').write_text('mine too')
    again = run_vidx(['run', src, '-o', out, '--count', 5, '--scenes', '--progress', 'json'])
    end = [json.loads(l) for l in again.stdout.splitlines() if '"end"' in l]
    F.check(again.rc == 0 and end and end[-1].get('done') == 0, 'the second run redid it: %s'
            % again.describe())
    gc = run_vidx(['gc', out, '--json'])
    F.check(gc.rc == 0 and len(list(out.glob('frames/*/scenes.json'))) == 1,
            'gc: %s; scenes.json %s' % (gc.describe(), list(out.glob('frames/*/scenes.json'))))
    F.check((out / 'notes.txt').read_text() == 'mine' and (out / 'scenes.json').read_text() == 'mine too',
            'the user\'s files were touched')
    v = run_vidx(['verify', out])
    F.check(v.rc == 0, 'verify: %s' % v.describe())
    merged = d / 'merged'
    m = run_vidx(['merge', '-o', merged, out])
    F.check(m.rc == 0 and [p.read_bytes() for p in merged.glob('frames/*/scenes.json')] ==
            [p.read_bytes() for p in out.glob('frames/*/scenes.json')],
            'merge did not carry scenes.json: %s' % m.describe())
    after = os.stat(src)
    F.check((after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns), 'the input changed')
    F.raise_if_any()


def test_run_scenes_shards():
    src = corpus_clip('psd_testvideo.mp4')
    out = new_out_dir('run_scenes_shards') / 'out'
    F = Failures('run --scenes (shards)')
    ref = _reference(src)
    _run(src, out, '--scenes', '--layout', 'shards')
    found = list(out.glob('frames/*/scenes.json'))
    F.check(len(found) == 1 and (found[0].parent / 'manifest.jsonl').exists(),
            'scenes.json beside the manifest: %s' % found)
    if found:
        _shots_match(F, 'scenes.json', json.loads(found[0].read_text())['shots'], ref)
    _shots_match(F, 'export --table shots', _export(out, 'shots'), ref)
    F.raise_if_any()
