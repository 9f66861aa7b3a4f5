"""Validation of a `vidx frames` run (manifest + files) against the oracle."""
import math
import os

from common import Failures, FramesRun, expected_name_ok, image_kind, image_size, vidx_frames

REQUIRED_KEYS = ('index', 'stream', 'target', 'time', 'pts', 'keyframe', 'width', 'height', 'bytes', 'path',
                 'approx')
TIME_TOL = 1e-6


def spec_args(spec):
    m = spec['mode']
    if m == 'count':
        a = ['--count', str(spec['n'])]
    elif m == 'fps':
        a = ['--fps', str(spec['r'])]
    elif m == 'keyframes':
        a = ['--keyframes']
    elif m == 'at':
        a = ['--at', ','.join(spec['times'])]
    elif m == 'index':
        a = ['--index', ','.join(str(i) for i in spec['indices'])]
    else:
        raise ValueError(m)
    if spec.get('approx'):
        a.append('--approx')
    return a


def spec_name(spec):
    m = spec['mode']
    s = {'count': 'count%s' % spec.get('n'), 'fps': 'fps%s' % spec.get('r'), 'keyframes': 'keyframes',
         'at': 'at', 'index': 'index'}[m]
    return s + ('_approx' if spec.get('approx') else '')


def _fmt_frame(o, pos):
    if pos is None or pos < 0 or pos >= o.n:
        return '#%s(out of range)' % pos
    f = o.frames[pos]
    return '#%d(t=%.6f%s)' % (pos, f['time'], ',key' if f['key'] else '')


def _fmt_set(o, s):
    return '{' + ', '.join(_fmt_frame(o, p) for p in sorted(s)) + '}'


def check_line_basics(fr: FramesRun, o, line, i, F: Failures, ext, approx, dims=None, damaged=False):
    """Checks one manifest line against the oracle. Returns the oracle position or None."""
    where = 'line %d' % (i + 1)
    missing = [k for k in REQUIRED_KEYS if k not in line]
    if missing:
        F.add('%s: missing keys %s: %s' % (where, missing, line))
        return None
    if fr.args and '--md5' in fr.args and not isinstance(line.get('md5'), str):
        F.add('%s: --md5 given but no md5 string: %s' % (where, line))
    if line['stream'] != o.stream:
        F.add('%s: stream %r, expected %d' % (where, line['stream'], o.stream))
    pos = o.pos_of_pts(line['pts'])
    if pos is None:
        near = min(range(o.n), key=lambda k: abs(o.times[k] - float(line['time']))) if o.n else None
        F.add('%s: pts %r (time %r) is not the pts of any decoded frame (nearest: %s)' % (
            where, line['pts'], line['time'], _fmt_frame(o, near)))
        return None
    f = o.frames[pos]
    if not isinstance(line['time'], (int, float)) or abs(line['time'] - f['time']) > TIME_TOL:
        F.add('%s: time %r, oracle pts_time %.6f (pts %d)' % (where, line['time'], f['time'], f['pts']))
    if line['index'] != pos and not (damaged and line['index'] == o.packet_position(pos)):
        F.add('%s: index %r, but the frame with pts %d is at presentation position %d' % (
            where, line['index'], f['pts'], pos))
    if bool(line['keyframe']) != f['key'] or not isinstance(line['keyframe'], bool):
        F.add('%s: keyframe %r, oracle key_frame %s (%s)' % (where, line['keyframe'], f['key'], _fmt_frame(o, pos)))
    if line['approx'] is not approx:
        F.add('%s: approx %r, expected %r' % (where, line['approx'], approx))
    if 'md5' in line and f['md5'] and line['md5'] != f['md5']:
        F.add('%s: md5 %s != oracle md5 %s of %s' % (where, line['md5'], f['md5'], _fmt_frame(o, pos)))
    if 'md5' in line and not f['md5']:
        F.add('%s: oracle has no md5 for %s (oracle problem)' % (where, _fmt_frame(o, pos)))
    # file
    rel = line['path']
    p = fr.outdir / rel if isinstance(rel, str) else None
    if p is None or not p.is_file():
        F.add('%s: file %r does not exist' % (where, rel))
        return pos
    if os.path.dirname(rel) not in ('',):
        F.add('%s: path %r is not directly in the output directory' % (where, rel))
    if not expected_name_ok(os.path.basename(rel), line['index'], line['time'], ext):
        F.add('%s: file name %r is not <index %%06d>_<ms>ms.%s for index %r time %r' % (
            where, rel, ext, line['index'], line['time']))
    if line['bytes'] != p.stat().st_size:
        F.add('%s: bytes %r but %s has %d bytes' % (where, line['bytes'], rel, p.stat().st_size))
    kind = image_kind(p)
    if kind != ext:
        F.add('%s: %s is a %s file, expected %s' % (where, rel, kind, ext))
    try:
        wh = image_size(p)
    except Exception as e:
        F.add('%s: cannot read image size of %s: %s' % (where, rel, e))
        wh = None
    if wh and wh != (line['width'], line['height']):
        F.add('%s: manifest says %sx%s, %s is %dx%d' % (where, line['width'], line['height'], rel, wh[0], wh[1]))
    if dims is not None and wh and wh not in dims:
        F.add('%s: image is %dx%d, expected %s' % (where, wh[0], wh[1], ' or '.join('%dx%d' % d for d in sorted(dims))))
    return pos


def check_dir_clean(fr: FramesRun, F: Failures):
    """The output directory holds exactly manifest.jsonl and the files it lists."""
    listed = {l.get('path') for l in (fr.manifest or []) if isinstance(l, dict)}
    files = set(fr.files())
    extra = sorted(files - listed - {'manifest.jsonl', '.vidx-output'})  # + the ownership marker
    if extra:
        F.add('output directory has files not in the manifest (temp files / junk?): %s' % extra[:10])


def check_frames_run(fr: FramesRun, o, spec, ext='jpg', dims='display', allowed_rc=(0,), damaged=False):
    """Full check of one run for a sampling spec. dims: 'display' (oracle display size),
    a set of (w, h), or None (not checked)."""
    F = Failures(fr.label())
    if fr.res.rc not in allowed_rc:
        F.add('exit %s (expected %s)\n  %s' % (fr.res.rc, '/'.join(map(str, allowed_rc)), fr.res.describe()))
        F.raise_if_any()
    if fr.manifest_error:
        F.add(fr.manifest_error)
        F.raise_if_any()
    if fr.manifest is None:
        F.add('no manifest.jsonl (files: %s)' % fr.files()[:10])
        F.raise_if_any()
    lines = fr.manifest
    approx = bool(spec.get('approx'))
    if approx and o.sequential_container():
        # docs/CLI.md: AVI / raw streams are decoded sequentially and --approx gives the exact frame
        approx = False
    if dims == 'display':
        dims = o.display_size_candidates()
    positions = []
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            F.add('line %d is not an object' % (i + 1))
            positions.append(None)
            continue
        positions.append(check_line_basics(fr, o, line, i, F, ext, approx, dims, damaged))
    check_dir_clean(fr, F)
    if not lines:
        F.add('manifest is empty')
        F.raise_if_any()

    # presentation order
    times = [l.get('time') for l in lines if isinstance(l, dict)]
    if all(isinstance(t, (int, float)) for t in times) and any(b < a for a, b in zip(times, times[1:])):
        F.add('frames are not in presentation order: times %s' % times[:20])

    m = spec['mode']
    if m == 'keyframes':
        got = [p for p in positions if p is not None]
        for i, l in enumerate(lines):
            if l.get('target') is not None:
                F.add('line %d: keyframes mode must have target null, got %r' % (i + 1, l.get('target')))
        want = set(o.keys)
        for p in got:
            if p not in want:
                F.add('delivered %s which is not a key frame' % _fmt_frame(o, p))
        miss = want - set(got)
        if miss:
            F.add('key frames not delivered: %s (oracle has %d key frames, got %d lines)' % (
                _fmt_set(o, miss), len(want), len(lines)))
        if len(got) != len(set(got)):
            F.add('key frames delivered more than once')
    elif m == 'index':
        want = o.index_positions(spec['indices'])
        want_set = set(p for p in want if 0 <= p < o.n)
        got = [p for p in positions if p is not None]
        if set(got) != want_set:
            F.add('indices %s: delivered %s, expected %s' % (
                spec['indices'], _fmt_set(o, set(got)), _fmt_set(o, want_set)))
        if len(got) != len(set(got)):
            F.add('a frame was delivered more than once: %s' % [_fmt_frame(o, p) for p in got])
        for i, l in enumerate(lines):
            if l.get('target') is not None:
                F.add('line %d: --index target must be null, got %r' % (i + 1, l.get('target')))
    else:
        targets = o.targets(spec)
        if targets is None:
            targets = _infer_targets(o, spec, lines, F)
            if targets is None:
                F.raise_if_any()
        missed = _check_targets(o, spec, lines, positions, targets, approx, F, damaged)
        if missed and fr.res.rc != 6:
            F.add('targets %s (their frame is undecodable) were not delivered, but the exit status is %r, not 6' % (
                ['%.6f' % t for t in missed], fr.res.rc))
    F.raise_if_any()
    return fr


def _check_targets(o, spec, lines, positions, targets, approx, F, damaged=False):
    def acceptable(t):
        return o.nearest_keys(t) if approx else o.shown_at(t)

    line_targets = []
    for i, l in enumerate(lines):
        t = l.get('target')
        if not isinstance(t, (int, float)):
            F.add('line %d: target %r is not a number' % (i + 1, t))
            line_targets.append(None)
            continue
        j = min(range(len(targets)), key=lambda k: abs(targets[k] - t)) if targets else None
        if j is None or abs(targets[j] - t) > TIME_TOL:
            F.add('line %d: target %r is not one of the requested targets %s' % (
                i + 1, t, ['%.6f' % x for x in targets[:12]] + (['...'] if len(targets) > 12 else [])))
            line_targets.append(None)
            continue
        line_targets.append(j)
        p = positions[i]
        if p is not None and p not in acceptable(targets[j]):
            extra = ''
            if approx:
                pk = o.preceding_key(targets[j])
                if p == pk:
                    extra = ' (delivered the preceding key frame, not the nearest)'
            F.add('target %.6f: got %s, expected %s%s' % (
                targets[j], _fmt_frame(o, p), _fmt_set(o, acceptable(targets[j])), extra))
    seen = {}
    for i, j in enumerate(line_targets):
        if j is not None:
            seen.setdefault(j, []).append(i + 1)
    for j, ls in sorted(seen.items()):
        if len(ls) > 1:
            F.add('target %.6f answered by %d lines (%s)' % (targets[j], len(ls), ls))
    # every requested target has its own line (docs/CLI.md: "a frame that answers two targets is
    # delivered twice"); on damaged input a target whose frame was lost may be missing
    gotset = set(p for p in positions if p is not None)
    missed_lost = []
    for j, t in enumerate(targets):
        if j in seen:
            continue
        if damaged and not approx and o.packet_shown_at_is_lost(t):
            missed_lost.append(t)
            continue
        dedup = ' (that frame was delivered for another target only: output deduplicated?)' \
            if acceptable(t) & gotset else ''
        F.add('target %.6f has no line: expected %s (%d lines for %d targets)%s' % (
            t, _fmt_set(o, acceptable(t)), len(lines), len(targets), dedup))
    return missed_lost


def _infer_targets(o, spec, lines, F):
    """For streams whose duration is unknown in the header: derive D from the first target
    and require the spec's formula, with D consistent with the decoded frames."""
    m = spec['mode']
    ts = [l.get('target') for l in lines]
    if not ts or not all(isinstance(t, (int, float)) for t in ts):
        F.add('duration unknown in header; targets missing: %s' % ts[:10])
        return None
    last = o.times[-1] - o.start
    gap = max(o.last_gap(), 0.001)
    if m == 'count':
        n = spec['n']
        D = (ts[0] - o.start) * n / 0.5
        if not (last - 1e-6 <= D <= last + 2 * gap):
            F.add('duration unknown in header: first target %.6f implies D=%.6f, but the frames span %.6f s '
                  '(last frame at %.6f)' % (ts[0], D, last, o.times[-1]))
        return [o.start + (i + 0.5) * D / n for i in range(n)]
    if m == 'fps':
        r = float(spec['r'])
        k = len(ts)
        out = [o.start + i / r for i in range(k)]
        if not (o.start + (k - 1) / r <= o.times[-1] + gap and o.start + k / r >= o.times[-1] - 1e-6):
            F.add('duration unknown in header: %d fps targets do not cover the frames (last frame %.6f)' % (
                k, o.times[-1]))
        return out
    return None


def default_specs(o):
    """The mode matrix for one clip."""
    n = o.n
    # --at times inside the decoded frames' span (a header duration can overstate it: an offset
    # Matroska file stores its end time as duration)
    span = o.times[-1] - o.start
    if o.duration is not None:
        span = min(span, o.duration)
    a, b = round(0.37 * span, 3), round(0.81 * span, 3)
    idx = [0, n // 2, -1] if n > 2 else [0, -1]
    return [
        {'mode': 'count', 'n': 7},
        {'mode': 'fps', 'r': 2},
        {'mode': 'keyframes'},
        {'mode': 'at', 'times': ['0', repr(a), repr(b)]},
        {'mode': 'index', 'indices': idx},
        {'mode': 'count', 'n': 7, 'approx': True},
    ]


def run_spec(path, spec, extra=(), md5=True):
    return vidx_frames(path, spec_args(spec) + list(extra), md5=md5)


def finite(x):
    return isinstance(x, (int, float)) and math.isfinite(x)
