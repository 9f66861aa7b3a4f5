"""`vidx run INPUT... -o OUT --transcode PRESET[,PRESET] [--no-frames]` (issue 15): the
transcode stage on the batch engine: supervised workers in parallel, catalog rows, resume,
isolation, crash safety. Outputs are checked with ffprobe, against the catalog's rows.

  run_transcode_stage    corpus clips (VP9, HEVC, 10-bit VP9, a rotated clip) and a generated
                         one with audio, a corrupt corpus clip and a truncated file, with --jobs 2,
                         frames and two presets (proxy + a small HLS ladder file): the bad inputs
                         fail alone (exit 1), every good one has its frames and its renditions in
                         OUT/transcode/<key>/<preset>/, one renditions row per output whose path
                         exists with the recorded bytes; ffprobe finds H.264 (+ AAC where the
                         source has audio) at the recorded size, upright, the master playlist
                         names the rungs; status counts them; verify finds no problem; a user's
                         files in OUT (top level and under transcode/) survive every step; the
                         same command again skips every video and touches no rendition; an
                         edited preset file redoes every video (new bytes; the bad ones fail again);
                         a proxy-only --no-frames rerun replaces each video's outputs
                         (ladders and frames go); gc removes a preset folder no row points at and
                         nothing of the user's; a user's file in a video's rendition folder makes
                         its redo refused (exit 12, folder named), the file kept
  run_transcode_kill     the supervisor SIGKILLed after staging a video's renditions (before
                         its catalog commit: VIDX_FAULT die=store:1) and after the group's
                         sync (die=sync:2), and the whole run (supervisor and workers) killed
                         while a worker is writing HLS segments: no row points at a missing
                         file; the same command again completes; verify finds no problem and no
                         rendition folder is left that no row points at
  run_transcode_postgres the same stage with a PostgreSQL catalog (--catalog): the renditions
                         rows agree with the files (ffprobe), status counts them, verify finds no
                         problem, then one missing: verify names it, --repair forgets the video
                         and removes its renditions, the rerun redoes only it; gc removes an
                         unreferenced preset folder
  run_transcode_usage    --no-frames alone, an unknown preset, a bad preset file, two presets
                         of one name, --no-frames with shards: exit 2, nothing written; vidx merge
                         of a part with renditions: exit 2 (not carried yet), DEST not made
"""
import json
import os
import signal
import sqlite3
import subprocess
import time

import common
from common import FFMPEG, FFPROBE, Failures, check, fail

LADDER = {"name": "small-ladder", "format": "hls", "segment_seconds": 2, "gop_seconds": 1,
          "x264_preset": "ultrafast",
          "renditions": [{"name": "240p", "height": 240, "bitrate": 300000},
                         {"name": "144p", "height": 144, "crf": 30}],
          "audio": {"bitrate": 64000, "rate": 48000, "channels": 2},
          "sprites": {"interval": 1, "width": 64, "columns": 4, "rows": 4}}
CORPUS = ['androidx_bear-vp9.webm', 'androidx_h265_bframes.mp4', 'androidx_roadtrip-vp92-10bit.webm',
          'decord_video_90.mov']
CORRUPT = 'androidx_invalid-bitstream.webm'


def vidx(args, env=None, timeout=900):
    e = dict(os.environ)
    e.pop('VIDX_FAULT', None)
    e.update(env or {})
    r = common.run([common.vidx_bin()] + [str(a) for a in args], timeout=timeout, env=e)
    check(not r.timed_out, 'vidx hung: %s' % r.describe())
    return r


def gen_clip(path, seconds=2, size='320x240'):
    r = subprocess.run([FFMPEG, '-nostdin', '-v', 'error', '-f', 'lavfi', '-i',
                        'testsrc2=size=%s:rate=25:duration=%g' % (size, seconds), '-f', 'lavfi', '-i',
                        'sine=frequency=440:duration=%g' % seconds, '-c:v', 'mpeg4', '-q:v', '5',
                        '-c:a', 'aac', '-y', str(path)], capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, 'ffmpeg: %s' % r.stderr[-500:])


def write_ladder(path, crf=30):
    d = json.loads(json.dumps(LADDER))
    d['renditions'][1]['crf'] = crf
    path.write_text(json.dumps(d))


def inputs(tag):
    """(input folder, good inputs, bad inputs): corpus clips linked in, a generated clip, a
    corrupt clip and a truncated copy of the generated one."""
    common.require_corpus()
    d = common.new_out_dir(tag + '_in')
    d.mkdir(parents=True)
    good = []
    for name in CORPUS:
        good.append(common.corpus_clip(name))
    gen = d / 'gen_av.mp4'
    gen_clip(gen)
    good.append(gen)
    cut = d / 'cut.mp4'
    data = gen.read_bytes()
    cut.write_bytes(data[:len(data) // 5])  # the moov is at the end: nothing to open
    return d, good, [common.corpus_clip(CORRUPT), cut]


def catalog_rows(out, sql):
    with sqlite3.connect('file:%s?mode=ro' % (out / 'catalog.db'), uri=True) as db:
        return db.execute(sql).fetchall()


def export(out, table):
    r = vidx(['export', out, '--table', table])
    check(r.rc == 0, 'export %s: %s' % (table, r.describe()))
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def tree_bytes(path):
    return sum(f.stat().st_size for f in path.rglob('*') if f.is_file())


def probe(path):
    r = subprocess.run([FFPROBE, '-v', 'error', '-show_entries',
                        'stream=codec_name,codec_type,width,height:stream_side_data', '-of', 'json',
                        str(path)], capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, 'ffprobe %s: %s' % (path, r.stderr[-500:]))
    return json.loads(r.stdout)['streams']


def source_info(path):
    """(has audio, display width, display height) of an input, by ffprobe."""
    streams = probe(path)
    v = [s for s in streams if s['codec_type'] == 'video'][0]
    w, h = v['width'], v['height']
    rot = [abs(int(sd.get('rotation', 0))) for sd in v.get('side_data_list', [])]
    if rot and rot[0] in (90, 270):
        w, h = h, w
    return any(s['codec_type'] == 'audio' for s in streams), w, h


def check_renditions(F, out, rows, src, want_presets):
    """Every row of src: its file exists with the recorded bytes and is what ffprobe says."""
    mine = [r for r in rows if r['video'] == os.path.realpath(src)]
    F.check(sorted({r['preset'] for r in mine}) == sorted(want_presets),
            '%s: presets %r, expected %r' % (src, sorted({r['preset'] for r in mine}), want_presets))
    audio, sw, sh = source_info(src)
    for r in mine:
        p = out / r['path']
        if not F.check(p.is_file(), '%s: %s missing' % (src, r['path'])):
            continue
        size = p.stat().st_size if r['kind'] in ('proxy', 'master') else tree_bytes(p.parent)
        F.check(size == r['bytes'], '%s: %s has %d bytes, the row says %d' % (src, r['path'], size, r['bytes']))
        if r['kind'] in ('proxy', 'hls'):
            streams = probe(p)
            v = [s for s in streams if s['codec_type'] == 'video']
            a = [s for s in streams if s['codec_type'] == 'audio']
            F.check(len(v) == 1 and v[0]['codec_name'] == 'h264' and
                    (v[0]['width'], v[0]['height']) == (r['width'], r['height']),
                    '%s: %s streams %r, row %dx%d' % (src, r['path'], streams, r['width'], r['height']))
            F.check(bool(a) == audio and all(s['codec_name'] == 'aac' for s in a),
                    '%s: %s audio %r, source has audio: %s' % (src, r['path'], a, audio))
            # upright and square: the aspect of the display within rounding to even sizes
            F.check(abs(r['width'] / r['height'] - sw / sh) < 0.05,
                    '%s: %s is %dx%d, the source shows %dx%d' % (src, r['path'], r['width'], r['height'], sw, sh))
            F.check(r['codec'].startswith('avc1.') and r['bitrate'] > 0 and r['duration'] > 0,
                    '%s: row %r' % (src, r))
        if r['kind'] == 'master':
            rungs = [l for l in p.read_text().splitlines() if l and not l.startswith('#')]
            F.check(rungs and all((p.parent / u).is_file() for u in rungs),
                    '%s: master.m3u8 names %r' % (src, rungs))
            F.check(sorted(x['path'] for x in mine if x['kind'] == 'hls') ==
                    sorted(os.path.join(os.path.dirname(r['path']), u) for u in rungs),
                    '%s: the master names %r, the rows %r' % (src, rungs, mine))
        if r['kind'] == 'sprite':
            text = p.read_text()
            F.check(text.startswith('WEBVTT') and '#xywh=' in text, '%s: sprites.vtt %r' % (src, text[:200]))
    return mine


def mtimes(out):
    return {str(p): p.stat().st_mtime_ns for p in (out / 'transcode').rglob('*') if p.is_file()}


def test_run_transcode_stage():
    d, good, bad = inputs('rts')
    out = common.new_out_dir('rts_out')
    ladder = d / 'ladder.json'
    write_ladder(ladder)
    cmd = ['run'] + good + bad + ['-o', out, '--jobs', '2', '--count', '2', '--progress', 'none',
                                  '--transcode', 'proxy,%s' % ladder]
    F = Failures('transcode stage')
    r = vidx(cmd)
    check(r.rc == 1, 'expected exit 1 (two bad inputs): %s' % r.describe())
    (out / 'notes.txt').write_text('mine')  # a user's files in OUT
    (out / 'transcode' / 'mine.txt').write_text('also mine')
    status = dict(catalog_rows(out, 'SELECT path, status FROM videos'))
    for g in good:
        F.check(status.get(os.path.realpath(g)) == 'ok', '%s: %s' % (g, status.get(os.path.realpath(g))))
    for b in bad:
        F.check(status.get(os.path.realpath(b)) == 'failed', '%s: %s' % (b, status.get(os.path.realpath(b))))
    rows = export(out, 'renditions')
    for g in good:
        check_renditions(F, out, rows, g, ['proxy', 'small-ladder'])
    F.check(not [x for x in rows if x['video'] in map(os.path.realpath, map(str, bad))],
            'a failed video has renditions')
    frames = catalog_rows(out, 'SELECT count(*) FROM frames')[0][0]
    F.check(frames == 2 * len(good), 'frames: %d, expected %d' % (frames, 2 * len(good)))
    st = vidx(['status', out, '--json'])
    sj = json.loads(st.stdout) if st.rc == 0 else {}
    F.check(sj.get('renditions', {}).get('videos') == len(good) and
            sj['renditions']['files'] == len([x for x in rows if x['kind'] != 'master']),
            'status: %s' % st.stdout[-800:])
    v = vidx(['verify', out, '--json'])
    F.check(v.rc == 0 and json.loads(v.stdout)['problems'] == 0, 'verify: %s' % v.describe())
    F.raise_if_any()

    # resume: the same command skips everything and touches no rendition
    before = mtimes(out)
    r = vidx(cmd)
    F.check(r.rc == 1 and '%d skipped' % (len(good) + len(bad)) in r.stderr, 'rerun: %s' % r.describe())
    F.check(mtimes(out) == before, 'the rerun rewrote renditions')
    # an edited preset changes the options: every video is redone (the bad ones fail again)
    write_ladder(ladder, crf=40)
    r = vidx(cmd)
    F.check(r.rc == 1 and '%d ok' % len(good) in r.stderr and '%d failed' % len(bad) in r.stderr,
            'edited preset: %s' % r.describe())
    rows2 = export(out, 'renditions')
    small = lambda rs: sorted(x['bytes'] for x in rs if x['path'].endswith('144p/index.m3u8'))
    F.check(small(rows2) != small(rows) and len(rows2) == len(rows), 'the 144p rungs did not change')
    for g in good:
        check_renditions(F, out, rows2, g, ['proxy', 'small-ladder'])
    # a run with only proxy and no frames: each video's outputs are the new set (the ladders
    # and frames go as the videos are redone)
    r = vidx(['run'] + good + ['-o', out, '--jobs', '2', '--progress', 'none', '--transcode', 'proxy',
                               '--no-frames'])
    F.check(r.rc == 0, 'proxy only: %s' % r.describe())
    rows3 = export(out, 'renditions')
    for g in good:
        check_renditions(F, out, rows3, g, ['proxy'])
    F.check(not list((out / 'transcode').glob('*/small-ladder')), 'the ladders stayed')
    F.check(catalog_rows(out, 'SELECT count(*) FROM frames')[0][0] == 0, 'frames rows stayed')
    # gc: a preset folder no row points at goes (vidx's names only), the user's files stay
    key = sorted((out / 'transcode').glob('*/proxy'))[0].parent
    (key / 'stale').mkdir()
    (key / 'stale' / 'proxy.mp4').write_bytes((key / 'proxy' / 'proxy.mp4').read_bytes())
    (key / 'stale' / 'keep.txt').write_text('mine too')
    g = vidx(['gc', out, '--json'])
    F.check(g.rc == 0, 'gc: %s' % g.describe())
    F.check(not (key / 'stale' / 'proxy.mp4').exists(), 'gc left an unreferenced rendition')
    F.check(len(list((out / 'transcode').glob('*/proxy/proxy.mp4'))) == len(good), 'gc removed proxies')
    F.check((out / 'notes.txt').read_text() == 'mine' and
            (out / 'transcode' / 'mine.txt').read_text() == 'also mine' and
            (key / 'stale' / 'keep.txt').read_text() == 'mine too', "the user's files changed")
    v = vidx(['verify', out, '--json'])
    F.check(v.rc == 0 and json.loads(v.stdout)['problems'] == 0, 'verify at the end: %s' % v.describe())
    # a user's file inside a video's rendition folder: redoing that video is refused (exit 12,
    # the folder named), the file is kept
    (key / 'proxy' / 'edit.txt').write_text('my edit')
    r = vidx(['run'] + good + ['-o', out, '--jobs', '2', '--progress', 'none', '--transcode', 'proxy'])
    F.check(r.rc == 12 and str(key) in r.stderr and 'did not make' in r.stderr,
            "a user's file in a rendition folder: %s" % r.describe())
    F.check((key / 'proxy' / 'edit.txt').read_text() == 'my edit', "the user's file changed")
    F.raise_if_any()


def killed(r):
    return r.rc in (-signal.SIGKILL, 128 + signal.SIGKILL)


def unreferenced(out):
    """Rendition folders (transcode/<key>/<preset>) no catalog row points into."""
    rows = {os.path.dirname(os.path.dirname(p)) if '/' in p.split('/', 3)[3] else os.path.dirname(p)
            for (p,) in catalog_rows(out, 'SELECT path FROM renditions')}
    have = {str(p.relative_to(out)) for p in (out / 'transcode').glob('*/*') if p.is_dir()}
    return sorted(have - rows)


def test_run_transcode_kill():
    d, good, _ = inputs('rtk')
    ladder = d / 'ladder.json'
    write_ladder(ladder)
    F = Failures('transcode stage, killed')
    for point in ('store:1', 'sync:2'):
        out = common.new_out_dir('rtk_%s' % point.replace(':', '_'))
        cmd = ['run'] + good + ['-o', out, '--jobs', '2', '--count', '1', '--progress', 'none',
                                '--transcode', 'proxy,%s' % ladder]
        r = vidx(cmd, env={'VIDX_FAULT': 'die=%s' % point})
        if not F.check(killed(r), '%s: expected a SIGKILL, got %s' % (point, r.describe())):
            continue
        for (p,) in catalog_rows(out, 'SELECT path FROM renditions'):
            F.check((out / p).is_file(), '%s: after the kill a row points at missing %s' % (point, p))
        r = vidx(cmd)
        F.check(r.rc == 0, '%s: the rerun: %s' % (point, r.describe()))
        rows = export(out, 'renditions')
        for g in good:
            check_renditions(F, out, rows, g, ['proxy', 'small-ladder'])
        v = vidx(['verify', out, '--json'])
        F.check(v.rc == 0 and json.loads(v.stdout)['problems'] == 0, '%s: verify: %s' % (point, v.describe()))
        F.check(unreferenced(out) == [], '%s: folders no row points at: %r' % (point, unreferenced(out)))
        F.check(not list((out / '.scratch').rglob('*')) if (out / '.scratch').exists() else True,
                '%s: scratch left behind' % point)
    # the whole process group killed while a worker writes segments in its scratch
    longer = d / 'longer.mp4'
    gen_clip(longer, seconds=20, size='640x480')
    out = common.new_out_dir('rtk_mid')
    cmd = ['run'] + good + [longer, '-o', out, '--jobs', '2', '--count', '1', '--progress', 'none',
                            '--transcode', 'proxy,%s' % ladder]
    p = subprocess.Popen([str(common.vidx_bin())] + [str(a) for a in cmd], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None and \
            not list(out.glob('.scratch/longer*/transcode/small-ladder/240p/seg_*.m4s')):
        time.sleep(0.05)
    F.check(p.poll() is None, 'the run ended before a segment was seen in scratch')
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    for (path,) in catalog_rows(out, 'SELECT path FROM renditions'):
        F.check((out / path).is_file(), 'mid-run kill: a row points at missing %s' % path)
    F.check(not list(out.glob('transcode/longer*')), 'mid-run kill: the killed video has renditions')
    r = vidx(cmd)
    F.check(r.rc == 0, 'mid-run kill: the rerun: %s' % r.describe())
    check_renditions(F, out, export(out, 'renditions'), longer, ['proxy', 'small-ladder'])
    v = vidx(['verify', out, '--json'])
    F.check(v.rc == 0 and json.loads(v.stdout)['problems'] == 0, 'mid-run kill: verify: %s' % v.describe())
    F.check(unreferenced(out) == [], 'mid-run kill: folders no row points at: %r' % unreferenced(out))
    F.raise_if_any()


def test_run_transcode_usage():
    d = common.new_out_dir('rtu')
    d.mkdir(parents=True)
    clip = d / 'c.mp4'
    gen_clip(clip, seconds=1)
    bad = d / 'bad.json'
    bad.write_text('{"name": "b", "format": "hls", "renditions": [{"name": "r", "height": 5}]}')
    F = Failures('transcode usage')
    cases = [(['--no-frames'], 'goes with transcode'),
             (['--transcode', 'nosuch'], "no built-in preset 'nosuch'"),
             (['--transcode', str(bad)], 'bad.json'),
             (['--transcode', 'proxy,proxy'], "two presets named 'proxy'"),
             (['--transcode', 'proxy', '--no-frames', '--layout', 'shards'], 'files layout')]
    for i, (args, words) in enumerate(cases):
        out = d / ('o%d' % i)
        r = vidx(['run', clip, '-o', out, '--progress', 'none'] + args)
        F.check(r.rc == 2 and words in r.stderr, '%r: expected exit 2 and %r: %s' % (args, words, r.describe()))
        F.check(not out.exists(), '%r: OUT was created' % args)
    part, dest = d / 'part', d / 'dest'
    r = vidx(['run', clip, '-o', part, '--progress', 'none', '--transcode', 'proxy'])
    F.check(r.rc == 0, 'the part: %s' % r.describe())
    r = vidx(['merge', '-o', dest, part])
    F.check(r.rc == 2 and 'renditions' in r.stderr and not dest.exists(),
            'merge of a part with renditions: %s' % r.describe())
    F.raise_if_any()


def test_run_transcode_postgres():
    url = common.pg_database('transcode')
    d = common.new_out_dir('rtp_in')
    d.mkdir(parents=True)
    clips = [d / ('c%d.mp4' % i) for i in range(3)]
    for c in clips:
        gen_clip(c, seconds=1, size='160x120')
    out = common.new_out_dir('rtp_out')
    cmd = ['run'] + clips + ['-o', out, '--catalog', url, '--jobs', '2', '--count', '1',
                             '--progress', 'none', '--transcode', 'proxy']
    F = Failures('transcode stage, PostgreSQL')
    r = vidx(cmd)
    check(r.rc == 0, 'first run: %s' % r.describe())
    def rows():
        e = vidx(['export', out, '--catalog', url, '--table', 'renditions'])
        check(e.rc == 0, 'export: %s' % e.describe())
        return [json.loads(l) for l in e.stdout.splitlines() if l.strip()]
    first = rows()
    for c in clips:
        check_renditions(F, out, first, c, ['proxy'])
    st = vidx(['status', out, '--catalog', url, '--json'])
    F.check(st.rc == 0 and json.loads(st.stdout).get('renditions', {}).get('files') == 3,
            'status: %s' % st.describe())
    v = vidx(['verify', out, '--catalog', url, '--json'])
    F.check(v.rc == 0 and json.loads(v.stdout)['problems'] == 0, 'verify: %s' % v.describe())
    victim = first[0]
    (out / victim['path']).unlink()
    v = vidx(['verify', out, '--catalog', url, '--json'])
    F.check(v.rc == 1 and victim['path'] in v.stdout, 'verify of a missing rendition: %s' % v.describe())
    v = vidx(['verify', out, '--catalog', url, '--repair', '--json'])
    F.check(v.rc == 1 and not (out / victim['path']).parent.exists(),
            'verify --repair: %s' % v.describe())
    F.check(victim['video'] not in [x['video'] for x in rows()], 'the repaired video kept its rows')
    r = vidx(cmd)
    F.check(r.rc == 0 and '1 ok' in r.stderr and '2 skipped' in r.stderr, 'rerun: %s' % r.describe())
    for c in clips:
        check_renditions(F, out, rows(), c, ['proxy'])
    stale = (out / victim['path']).parent.parent / 'stale'
    stale.mkdir()
    (stale / 'proxy.mp4').write_bytes(b'left by an abandoned run')
    g = vidx(['gc', out, '--catalog', url, '--json'])
    F.check(g.rc == 0 and not (stale / 'proxy.mp4').exists(), 'gc: %s' % g.describe())
    F.check(len(list((out / 'transcode').glob('*/proxy/proxy.mp4'))) == 3, 'gc removed a proxy')
    F.raise_if_any()
