"""`--per-scene K` (vidx frames, vidx run): K exact frames of each shot.

The shots are known: psd_testvideo.mp4 (corpus; 720 frames, cuts at 30, 180 and 394, a
dissolve whose middle is 543) and the clip test_scenes generates (220 frames, cuts at 50, 100 and 171).
Which frames each pick takes is worked out here from those cuts (docs/CLI.md,
"Sampling by shot"); each frame must be the one `vidx frames --index` delivers for the
same index (same md5 of the decoded planes), and the manifest names its shot.

  per_scene_psd_picks        first / middle / spread, K = 1 and 3, on psd_testvideo.mp4
  per_scene_generated        K = 4 spread on the generated clip (a zoom, a fade through black)
  per_scene_one_shot         a video with one shot (cfr.mp4, 75 frames): K = 1 first vs middle,
                             K larger than the shot (every frame once), the AVI (sequential) path
  per_scene_errors           bad values, with another mode, with --approx, over --max-frames
  run_per_scene              vidx run: frames and shots in the catalog, shot tags, the options
                             hash (a second run does nothing, another pick redoes it), the
                             user's files untouched
"""
import json

from common import Failures, corpus_clip, fail, fixture, new_out_dir, run_vidx
from test_scenes import _generated

PSD_FIRST, PSD_FRAMES = [0, 30, 180, 394, 543], 720
GEN_FIRST, GEN_FRAMES = [0, 50, 100, 171], 220


def shots_of(first, n):
    return [(a, b - 1) for a, b in zip(first, first[1:] + [n])]


def expected(shots, k, pick):
    """The documented choice: per shot of len frames from a, m = min(k, len) frames."""
    out = []
    for s, (a, b) in enumerate(shots):
        n = b - a + 1
        m = min(k, n)
        for i in range(m):
            if pick == 'first':
                f = a + i
            elif pick == 'middle':
                f = a + (n - m + 1) // 2 + i
            else:
                f = a + (2 * i + 1) * n // (2 * m)
            out.append((f, s))
    return out


def manifest(d):
    p = d / 'manifest.jsonl'
    if not p.exists():
        fail('no manifest in %s' % d)
    return [json.loads(line) for line in p.read_text().splitlines()]


def frames(src, out, *extra):
    r = run_vidx(['frames', src, '-o', out, '--md5'] + [str(a) for a in extra])
    if r.rc != 0:
        fail('frames %s: %s' % (' '.join(map(str, extra)), r.describe()))
    return manifest(out)


def reference_md5(src, indices, tag):
    """md5 per index from `vidx frames --index` (the exact-frame reference)."""
    recs = frames(src, new_out_dir(tag), '--index', ','.join(str(i) for i in sorted(set(indices))))
    return {r['index']: r['md5'] for r in recs}


def check_picks(F, label, src, recs, want, ref, d):
    got = [(r['index'], r.get('shot')) for r in recs]
    F.check(got == want, '%s: (index, shot) %r, expected %r' % (label, got, want))
    for r in recs:
        F.check(r['md5'] == ref.get(r['index']), '%s: frame %d is not the frame --index %d gives'
                % (label, r['index'], r['index']))
        F.check(r['path'] and (d / r['path']).is_file(), '%s: %r not written' % (label, r['path']))


def scenes_first(d):
    j = json.loads((d / 'scenes.json').read_text())
    return [s['first_frame'] for s in j['shots']]


def test_per_scene_psd_picks():
    src = corpus_clip('psd_testvideo.mp4')
    shots = shots_of(PSD_FIRST, PSD_FRAMES)
    cases = [(k, p) for k in (1, 3) for p in ('first', 'middle', 'spread')]
    ref = reference_md5(src, [f for k, p in cases for f, _ in expected(shots, k, p)], 'per_scene_ref')
    F = Failures('frames --per-scene on psd_testvideo.mp4')
    # by hand: K = 1 first is each shot's first frame; middle and spread its frame len // 2
    F.check([f for f, _ in expected(shots, 1, 'first')] == PSD_FIRST, 'the reference is wrong')
    F.check([f for f, _ in expected(shots, 1, 'middle')] == [15, 105, 287, 468, 631],
            'the reference is wrong')
    for k, pick in cases:
        d = new_out_dir('per_scene_%d_%s' % (k, pick))
        recs = frames(src, d, '--per-scene', k, '--per-scene-pick', pick)
        check_picks(F, 'K=%d %s' % (k, pick), src, recs, expected(shots, k, pick), ref, d)
        F.check(scenes_first(d) == PSD_FIRST, 'scenes.json: shots start at %r' % scenes_first(d))
    d = new_out_dir('per_scene_default')
    recs = frames(src, d, '--per-scene', 3)  # the default pick is spread
    F.check([r['index'] for r in recs] == [f for f, _ in expected(shots, 3, 'spread')],
            'default pick: %r' % [r['index'] for r in recs])
    F.raise_if_any()


def test_per_scene_generated():
    src = _generated()
    shots = shots_of(GEN_FIRST, GEN_FRAMES)
    want = expected(shots, 4, 'spread')
    ref = reference_md5(src, [f for f, _ in want], 'per_scene_gen_ref')
    d = new_out_dir('per_scene_gen')
    F = Failures('frames --per-scene 4 on the generated clip')
    check_picks(F, 'K=4 spread', src, frames(src, d, '--per-scene', 4), want, ref, d)
    F.check(scenes_first(d) == GEN_FIRST, 'scenes.json: shots start at %r' % scenes_first(d))
    F.raise_if_any()


def test_per_scene_one_shot():
    F = Failures('frames --per-scene on one-shot videos')
    src = fixture('cfr.mp4')  # 75 frames, one shot
    shots = [(0, 74)]
    ref = reference_md5(src, range(75), 'per_scene_cfr_ref')
    for k, pick, idx in ((1, 'first', [0]), (1, 'middle', [37]), (1000, 'spread', list(range(75))),
                         (1000, 'middle', list(range(75)))):
        d = new_out_dir('per_scene_cfr_%d_%s' % (k, pick))
        recs = frames(src, d, '--per-scene', k, '--per-scene-pick', pick)
        F.check([r['index'] for r in recs] == idx, 'K=%d %s: %r, expected %r'
                % (k, pick, [r['index'] for r in recs][:10], idx[:10]))
        check_picks(F, 'cfr K=%d %s' % (k, pick), src, recs, expected(shots, k, pick), ref, d)
    src = fixture('mpeg4.avi')  # 50 frames, one shot, decoded sequentially
    want = expected([(0, 49)], 2, 'spread')
    F.check([f for f, _ in want] == [12, 37], 'the reference is wrong: %r' % want)
    ref = reference_md5(src, [f for f, _ in want], 'per_scene_avi_ref')
    d = new_out_dir('per_scene_avi')
    check_picks(F, 'avi K=2', src, frames(src, d, '--per-scene', 2), want, ref, d)
    F.raise_if_any()


def test_per_scene_errors():
    src = fixture('cfr.mp4')
    F = Failures('--per-scene errors')
    for args, word in ((['--per-scene', '0'], 'per-scene'), (['--per-scene', 'x'], 'per-scene'),
                       (['--per-scene', '2', '--per-scene-pick', 'last'], 'per-scene-pick'),
                       (['--per-scene-pick', 'first'], 'needs --per-scene'),
                       (['--per-scene', '2', '--count', '3'], 'choose one'),
                       (['--per-scene', '2', '--approx'], 'approx')):
        d = new_out_dir('per_scene_err')
        r = run_vidx(['frames', src, '-o', d] + args)
        F.check(r.rc == 2 and word in r.stderr, '%s: %s' % (' '.join(args), r.describe()))
        F.check(not d.exists(), '%s: created %s' % (' '.join(args), d))
    r = run_vidx(['frames', src, '-o', new_out_dir('per_scene_max'), '--per-scene', '50',
                  '--max-frames', '10'])
    F.check(r.rc != 0 and 'max-frames' in r.stderr and str(src) in r.stderr,
            '50 frames over --max-frames 10: %s' % r.describe())
    F.raise_if_any()


def _export(out, table):
    r = run_vidx(['export', out, '--table', table])
    if r.rc != 0:
        fail('export %s: %s' % (table, r.describe()))
    return [json.loads(line) for line in r.stdout.splitlines()]


def _run_end(src, out, *extra):
    r = run_vidx(['run', src, '-o', out, '--progress', 'json'] + [str(a) for a in extra])
    end = [json.loads(l) for l in r.stdout.splitlines() if '"end"' in l]
    if r.rc != 0 or not end:
        fail('run %s: %s' % (' '.join(map(str, extra)), r.describe()))
    return end[-1]


def test_run_per_scene():
    src = corpus_clip('psd_testvideo.mp4')
    shots = shots_of(PSD_FIRST, PSD_FRAMES)
    want = expected(shots, 2, 'first')
    ref = reference_md5(src, [f for f, _ in want], 'run_per_scene_ref')
    out = new_out_dir('run_per_scene') / 'out'
    F = Failures('run --per-scene')
    end = _run_end(src, out, '--per-scene', 2, '--per-scene-pick', 'first', '--md5')
    F.check(end.get('done') == 1, 'first run: %r' % end)
    got = [f['index'] for f in _export(out, 'frames')]
    F.check(got == [f for f, _ in want], 'catalog frames %r, expected %r' % (got, [f for f, _ in want]))
    F.check([s['first_frame'] for s in _export(out, 'shots')] == PSD_FIRST,
            'catalog shots: %r' % _export(out, 'shots'))
    mans = list(out.glob('frames/*/manifest.jsonl'))
    if len(mans) != 1:
        fail('manifests: %r' % mans)
    recs = manifest(mans[0].parent)
    check_picks(F, 'run manifest', src, recs, want, ref, mans[0].parent)
    (out / 'notes.txt').write_text('mine')
    end = _run_end(src, out, '--per-scene', 2, '--per-scene-pick', 'first', '--md5')
    F.check(end.get('done') == 0, 'the same options redid the video: %r' % end)
    end = _run_end(src, out, '--per-scene', 2, '--per-scene-pick', 'middle', '--md5')
    F.check(end.get('done') == 1, 'another pick did not redo the video: %r' % end)
    got = [f['index'] for f in _export(out, 'frames')]
    F.check(got == [f for f, _ in expected(shots, 2, 'middle')], 'after --per-scene-pick middle: %r' % got)
    F.check((out / 'notes.txt').read_text() == 'mine', 'the user\'s file was touched')
    F.raise_if_any()
