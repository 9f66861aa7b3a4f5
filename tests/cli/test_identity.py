"""What makes two inputs one video, and what a walk or a list takes (issue 8, item 3 and 6).

    /usr/bin/python3 tests/cli/run.py -k identity::

  two_cwds_two_videos        the same relative path run from two directories into one OUT
                             is two videos (two rows, two frame directories)
  spellings_one_video        x, ./x, in//x, in/sub/../x and /abs/x are one video; a rerun
                             with ./in after in (or the absolute path) skips everything
  links_processed_once       a hard link and a symlink of a file, named explicitly or met
                             in a walk: processed once, the duplicate named on stderr
  list_cycles_refused        an @list that includes itself, and two lists including each
                             other: exit 2 at once, the message names both lists
  list_depth_bounded         lists nested 8 deep work, 9 deep are refused naming the limit
  list_relative_paths        relative lines resolve against the list's own directory
                             (stdin and other pipes, @<(...): against the current directory)
  symlink_loops_in_tree      a tree with symlink loops: each real video once, symlinks
                             skipped and counted; --follow-symlinks still terminates and
                             identifies a symlinked file by its target
  mixed_folder               videos + photos + audio + documents: exit 0, the rest skipped
                             and counted by kind (summary line and json end event); the
                             same files named explicitly are still recorded with a reason
  audio_files_opt_in         --audio wav --audio-files: audio-only files of a walk are taken
                             for their audio (ok, no frames); without --audio it is a usage error
  catalog_migration          a schema-1 catalog (paths as typed) is upgraded: relative rows
                             whose file is found are made canonical and not redone, keys and
                             frames untouched; other rows are left, and adopted by a later run
                             from the directory where their file is; a newer schema is refused
"""
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import common
from common import Failures, check, fail, note
from test_run import check_outputs, fixtures, read_catalog, vrun

COUNT = 8


def work(tag):
    d = common.new_out_dir(tag)
    d.mkdir(parents=True)
    return d.resolve()


def clip(name):
    return fixtures() / name


def many(i):
    return fixtures() / 'many' / ('c%02d.mp4' % i)


def end_event(res):
    for line in reversed(res.stdout.splitlines()):
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get('event') == 'end':
            return o
    fail('no end event on stdout\n  %s\n  stdout: %r' % (res.describe(), res.stdout[-500:]))


def run_json(args, cwd=None, **kw):
    return vrun(['run'] + list(args) + ['--jobs', 2, '--progress', 'json'], cwd=cwd, **kw)


def ffmpeg(args):
    r = common.run([common.FFMPEG, '-nostdin', '-hide_banner', '-v', 'error', '-y'] + list(args), timeout=60)
    if r.rc != 0:
        fail('ffmpeg failed:\n  %s' % r.describe())


def frame_files(out, key):
    d = Path(out) / 'frames' / key
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


# ---------------------------------------------------------------------------

def test_two_cwds_two_videos():
    w = work('id_two_cwds')
    out = w / 'out'
    for sub, src in (('d1', clip('g_noaudio.mp4')), ('d2', clip('g_audio.mkv'))):
        (w / sub / 'in').mkdir(parents=True)
        shutil.copyfile(src, w / sub / 'in' / 'x.mp4')
    F = Failures('same relative path from two directories')
    for sub in ('d1', 'd2'):
        r = run_json(['in/x.mp4', '-o', out], cwd=w / sub)
        F.check(r.rc == 0, 'run from %s: exit %s\n  %s' % (sub, r.rc, r.describe()))
    cat = read_catalog(out)
    want = {str(w / 'd1' / 'in' / 'x.mp4'), str(w / 'd2' / 'in' / 'x.mp4')}
    F.check(set(cat['videos']) == want, 'catalog paths %s, expected the two files %s'
            % (sorted(cat['videos']), sorted(want)))
    keys = {v['key'] for v in cat['videos'].values()}
    F.check(len(keys) == 2, 'keys %s: the two videos must have two output directories' % keys)
    for p, v in cat['videos'].items():
        F.check(v['status'] == 'ok' and v['frames'] == COUNT, '%s: %s with %s frames, expected ok with %d'
                % (p, v['status'], v['frames'], COUNT))
    check_outputs(out, cat, F)
    r = vrun(['verify', out], timeout=60)
    F.check(r.rc == 0, 'verify after both runs: exit %s\n  %s' % (r.rc, r.describe()))
    F.raise_if_any()


def test_spellings_one_video():
    w = work('id_spellings')
    (w / 'in' / 'sub').mkdir(parents=True)
    shutil.copyfile(clip('g_noaudio.mp4'), w / 'in' / 'x.mp4')
    shutil.copyfile(clip('g_audio.mp4'), w / 'in' / 'sub' / 'y.mp4')
    out = w / 'out'
    F = Failures('one file, many spellings')
    names = ['in/x.mp4', './in/x.mp4', 'in//x.mp4', 'in/sub/../x.mp4', str(w / 'in' / 'x.mp4')]
    r = run_json(names + ['-o', out], cwd=w)
    F.check(r.rc == 0, 'exit %s\n  %s' % (r.rc, r.describe()))
    cat = read_catalog(out)
    F.check(list(cat['videos']) == [str(w / 'in' / 'x.mp4')],
            '%d catalog rows %s, expected one, the absolute path' % (len(cat['videos']), list(cat['videos'])))
    end = end_event(r)
    F.check(end.get('total') == 1 and end.get('duplicates') == 4,
            'end event total=%s duplicates=%s, expected 1 and 4' % (end.get('total'), end.get('duplicates')))
    # a walk of in, then the same folder spelt ./in, in/ and absolute: nothing is redone
    r = run_json(['in', '-o', out], cwd=w)
    F.check(r.rc == 0, 'run in: exit %s\n  %s' % (r.rc, r.describe()))
    before = read_catalog(out)
    F.check(len(before['videos']) == 2, 'after "run in": %d rows, expected 2' % len(before['videos']))
    for spelling in ('./in', 'in/', str(w / 'in'), './in/sub/..'):
        r = run_json([spelling, '-o', out], cwd=w)
        end = end_event(r)
        F.check(r.rc == 0 and end.get('done') == 0 and end.get('skipped') == 2,
                'rerun with %r: exit %s, done %s, skipped %s; expected everything skipped\n  %s'
                % (spelling, r.rc, end.get('done'), end.get('skipped'), r.describe()))
    after = read_catalog(out)
    F.check(set(after['videos']) == set(before['videos']), 'reruns changed the rows: %s -> %s'
            % (sorted(before['videos']), sorted(after['videos'])))
    check_outputs(out, after, F)
    F.raise_if_any()


def test_links_processed_once():
    w = work('id_links')
    (w / 'in').mkdir()
    a = w / 'in' / 'a.mp4'
    shutil.copyfile(clip('g_noaudio.mp4'), a)
    os.link(a, w / 'in' / 'h.mp4')
    os.symlink('in/a.mp4', w / 's.mp4')
    F = Failures('links')
    out = w / 'out'
    r = run_json([a, w / 'in' / 'h.mp4', w / 's.mp4', '-o', out])
    F.check(r.rc == 0, 'explicit names: exit %s\n  %s' % (r.rc, r.describe()))
    cat = read_catalog(out)
    F.check(list(cat['videos']) == [str(a)], 'explicit names: rows %s, expected only %s'
            % (list(cat['videos']), a))
    F.check('h.mp4' in r.stderr and 'same file' in r.stderr,
            'the hard link is not named on stderr as the same file: %r' % r.stderr[-600:])
    F.check(end_event(r).get('duplicates') == 2, 'duplicates %s, expected 2' % end_event(r).get('duplicates'))
    out2 = w / 'out2'
    r = run_json([w / 'in', '-o', out2])
    cat = read_catalog(out2)
    F.check(r.rc == 0 and list(cat['videos']) == [str(a)],
            'walk over a file and its hard link: exit %s, rows %s, expected only %s'
            % (r.rc, list(cat['videos']), a))
    F.raise_if_any()


def write_lists(d, lists):
    for name, lines in lists.items():
        (d / name).write_text(''.join(l + '\n' for l in lines))


def test_list_cycles_refused():
    w = work('id_list_cycles')
    v = str(clip('g_noaudio.mp4'))
    write_lists(w, {'self.txt': [v, '@self.txt'], 'a.txt': [v, '@b.txt'], 'b.txt': ['@a.txt']})
    F = Failures('@list cycles')
    for start, names in (('self.txt', ['self.txt']), ('a.txt', ['a.txt', 'b.txt'])):
        out = w / ('out_' + start)
        r = run_json(['@' + str(w / start), '-o', out], timeout=60)
        F.check(not r.timed_out and r.rc == 2, '@%s: exit %s (timed out: %s), expected 2\n  %s'
                % (start, r.rc, r.timed_out, r.describe()))
        F.check('include itself' in r.stderr and all(str(w / n) in r.stderr for n in names),
                '@%s: the error must say the list includes itself and name %s: %r'
                % (start, names, r.stderr[-600:]))
        if (out / 'catalog.db').is_file():
            F.check(not read_catalog(out)['videos'], '@%s: videos were processed' % start)
    F.raise_if_any()


def test_list_depth_bounded():
    w = work('id_list_depth')
    v = str(clip('g_noaudio.mp4'))
    # l1 -> l2 -> ... -> lN, the last one naming the video
    for n, ok in ((8, True), (9, False)):
        d = w / ('chain%d' % n)
        d.mkdir()
        write_lists(d, {'l%d.txt' % i: ['@l%d.txt' % (i + 1)] for i in range(1, n)})
        write_lists(d, {'l%d.txt' % n: [v]})
        out = d / 'out'
        r = run_json(['@' + str(d / 'l1.txt'), '-o', out], timeout=60)
        if ok:
            check(r.rc == 0 and list(read_catalog(out)['videos']) == [v],
                  'lists nested %d deep: exit %s, expected 0 with the video\n  %s' % (n, r.rc, r.describe()))
        else:
            check(r.rc == 2 and 'nested more than 8' in r.stderr and 'l9.txt' in r.stderr,
                  'lists nested %d deep: exit %s, expected 2 with an error naming the limit (8) and '
                  'l9.txt\n  %s' % (n, r.rc, r.describe()))


def test_list_relative_paths():
    w = work('id_list_relative')
    (w / 'videos').mkdir()
    (w / 'lists' / 'more').mkdir(parents=True)
    (w / 'elsewhere').mkdir()
    a, b = w / 'videos' / 'a.mp4', w / 'videos' / 'b.mkv'
    shutil.copyfile(clip('g_noaudio.mp4'), a)
    shutil.copyfile(clip('g_audio.mkv'), b)
    write_lists(w / 'lists', {'main.txt': ['# relative to lists/', '../videos/a.mp4', '@more/sub.txt']})
    write_lists(w / 'lists' / 'more', {'sub.txt': ['../../videos/b.mkv']})
    F = Failures('relative paths in lists')
    out = w / 'out'
    r = run_json(['@../lists/main.txt', '-o', out], cwd=w / 'elsewhere')
    cat = read_catalog(out)
    want = {str(a): 'ok', str(b): 'ok'}
    got = {p: v['status'] for p, v in cat['videos'].items()}
    F.check(r.rc == 0 and got == want, 'list run from another directory: exit %s, catalog %s, expected %s\n  %s'
            % (r.rc, got, want, r.describe()))
    out2 = w / 'out_stdin'
    r = run_json(['-', '-o', out2], cwd=w / 'videos', stdin_data='a.mp4\n')
    got = {p: v['status'] for p, v in read_catalog(out2)['videos'].items()}
    F.check(r.rc == 0 and got == {str(a): 'ok'}, "'-' takes relative lines from the current directory: "
            'exit %s, catalog %s' % (r.rc, got))
    # a pipe as a list (bash process substitution) has no directory: the current one
    out3 = w / 'out_pipe'
    r = common.run(['bash', '-c', '"$0" run @<(printf "b.mkv\\n") -o "$1" --progress none',
                    common.vidx_bin(), out3], cwd=w / 'videos', timeout=120)
    got = {p: v['status'] for p, v in read_catalog(out3)['videos'].items()}
    F.check(r.rc == 0 and got == {str(b): 'ok'}, '@<(printf b.mkv) takes relative lines from the current '
            'directory: exit %s, catalog %s\n  %s' % (r.rc, got, r.describe()))
    F.raise_if_any()


def test_symlink_loops_in_tree():
    w = work('id_symlink_loops')
    tree, outside = w / 'tree', w / 'outside'
    (tree / 'a' / 'b').mkdir(parents=True)
    outside.mkdir()
    v1, v2, v3 = tree / 'one.mp4', tree / 'a' / 'b' / 'two.mkv', outside / 'three.mp4'
    shutil.copyfile(clip('g_noaudio.mp4'), v1)
    shutil.copyfile(clip('g_audio.mkv'), v2)
    shutil.copyfile(clip('g_audio.mp4'), v3)
    os.symlink('..', tree / 'a' / 'b' / 'up')          # a/b/up -> a
    os.symlink('../..', tree / 'a' / 'b' / 'top')      # a/b/top -> tree
    os.symlink('.', tree / 'a' / 'self')               # a/self -> a
    os.symlink(str(tree), tree / 'a' / 'abs')           # absolute loop
    os.symlink('../outside/three.mp4', tree / 'ext.mp4')   # a symlinked file outside the tree
    os.symlink('nowhere.mp4', tree / 'dangling.mp4')
    F = Failures('symlink loops')
    out = w / 'out'
    r = run_json([tree, '-o', out], timeout=90)
    cat = read_catalog(out)
    F.check(not r.timed_out and r.rc == 0, 'walk: exit %s\n  %s' % (r.rc, r.describe()))
    F.check(set(cat['videos']) == {str(v1), str(v2)}, 'walk without --follow-symlinks: rows %s, expected '
            'the 2 real videos' % sorted(cat['videos']))
    F.check(end_event(r).get('symlinks_skipped') == 6, 'symlinks_skipped %s, expected 6'
            % end_event(r).get('symlinks_skipped'))
    F.check('--follow-symlinks' in r.stderr, 'the summary does not mention the skipped symlinks: %r'
            % r.stderr[-500:])
    out2 = w / 'out_follow'
    r = run_json([tree, '-o', out2, '--follow-symlinks'], timeout=90)
    cat = read_catalog(out2)
    F.check(not r.timed_out and r.rc == 0, '--follow-symlinks: exit %s\n  %s' % (r.rc, r.describe()))
    F.check(set(cat['videos']) == {str(v1), str(v2), str(v3)},
            '--follow-symlinks: rows %s, expected each real video once, the symlinked file by its target'
            % sorted(cat['videos']))
    check_outputs(out2, cat, F)
    F.raise_if_any()


def make_mixed(d):
    """Two videos and eight files that are not video; returns (videos, others by kind)."""
    (d / 'sub').mkdir(parents=True)
    vids = [d / 'clip.mp4', d / 'sub' / 'noext_video']
    shutil.copyfile(clip('g_noaudio.mp4'), vids[0])
    shutil.copyfile(clip('g_audio.mkv'), vids[1])
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48', '-frames:v', '1', d / 'photo.png'])
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48', '-frames:v', '1', d / 'sub' / 'photo.jpg'])
    shutil.copyfile(d / 'photo.png', d / 'sub' / 'IMG_0001')   # a photo without extension: sniffed
    ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=1', d / 'song.mp3'])
    ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=1', d / 'sub' / 'voice.wav'])
    shutil.copyfile(d / 'song.mp3', d / 'track01')              # audio without extension: sniffed
    (d / 'notes.txt').write_text('shopping list\n' * 20)
    (d / 'sub' / 'paper.pdf').write_bytes(b'%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n' * 20)
    others = {'image': [d / 'photo.png', d / 'sub' / 'photo.jpg', d / 'sub' / 'IMG_0001'],
              'audio': [d / 'song.mp3', d / 'sub' / 'voice.wav', d / 'track01'],
              'other': [d / 'notes.txt', d / 'sub' / 'paper.pdf']}
    return vids, others


def test_mixed_folder():
    w = work('id_mixed')
    d = w / 'folder'
    vids, others = make_mixed(d)
    F = Failures('mixed folder')
    out = w / 'out'
    r = run_json([d, '-o', out])
    F.check(r.rc == 0, 'exit %s, expected 0 (photos and music are not failures)\n  %s' % (r.rc, r.describe()))
    cat = read_catalog(out)
    got = {p: v['status'] for p, v in cat['videos'].items()}
    F.check(got == {str(v): 'ok' for v in vids}, 'catalog %s, expected only the 2 videos, ok' % got)
    end = end_event(r)
    want = {k: len(v) for k, v in others.items()}
    F.check(end.get('not_video') == want, 'end event not_video %s, expected %s' % (end.get('not_video'), want))
    F.check(end.get('failed') == 0 and end.get('total') == 2, 'end event %s' % end)
    F.check('skipped 8 not video (3 image, 3 audio, 2 other)' in r.stderr,
            'no "skipped 8 not video (3 image, 3 audio, 2 other)" in the summary: %r' % r.stderr[-600:])
    check_outputs(out, cat, F)
    # named explicitly, the same files are taken and recorded with their reason
    out2 = w / 'out_explicit'
    named = others['image'][:1] + others['audio'][:1] + others['other'][:1]
    r = run_json(named + ['-o', out2])
    cat = read_catalog(out2)
    F.check(r.rc == 1, 'explicit non-videos: exit %s, expected 1\n  %s' % (r.rc, r.describe()))
    for p in named:
        v = cat['videos'].get(str(p))
        F.check(v is not None and v['status'] == 'failed' and v['error_class'] and v['error'],
                'explicit %s: %s, expected failed with a class and a reason' % (p.name, v))
    note('explicit non-videos: %s' % {Path(p).name: v['error_class'] for p, v in cat['videos'].items()})
    F.raise_if_any()


def test_audio_files_opt_in():
    w = work('id_audio_files')
    d = w / 'folder'
    vids, others = make_mixed(d)
    F = Failures('--audio-files')
    out = w / 'out'
    r = run_json([d, '-o', out, '--audio', 'wav', '--audio-files'])
    F.check(r.rc == 0, 'exit %s\n  %s' % (r.rc, r.describe()))
    cat = read_catalog(out)
    got = {p: (v['status'], v['frames']) for p, v in cat['videos'].items()}
    want = {str(v): ('ok', COUNT) for v in vids}
    want.update({str(a): ('ok', 0) for a in others['audio']})
    F.check(got == want, 'catalog %s, expected the videos with frames and the audio files without' % got)
    for a in others['audio']:
        row = cat['audio'].get(str(a))
        F.check(row is not None and 0.9 < row['duration'] < 1.2 and (out / row['path']).is_file(),
                '%s: audio row %s, expected about 1 s of audio in a file' % (a.name, row))
    end = end_event(r)
    F.check(end.get('not_video') == {'image': 3, 'audio': 0, 'other': 2}, 'not_video %s' % end.get('not_video'))
    check_outputs(out, cat, F)
    r = run_json([d, '-o', w / 'out_noaudio', '--audio-files'])
    F.check(r.rc == 2 and '--audio' in r.stderr and not (w / 'out_noaudio').exists(),
            '--audio-files without --audio: exit %s, expected 2 and nothing created\n  %s' % (r.rc, r.describe()))
    F.raise_if_any()


def downgrade(out, rows):
    """Turns a catalog into a schema-1 one (no 'schema' row) whose paths are rows[path]."""
    con = sqlite3.connect(str(out / 'catalog.db'))
    try:
        with con:
            con.execute("DELETE FROM meta WHERE key='schema'")
            for new, old in rows.items():
                con.execute('UPDATE videos SET path=? WHERE path=?', (old, new))
    finally:
        con.close()


def test_catalog_migration():
    w = work('id_migration')
    (w / 'in').mkdir()
    srcs = {'x.mp4': many(0), 'y.mp4': many(1), 'z.mp4': many(2), 'gone.mp4': many(3)}
    for n, s in srcs.items():
        shutil.copyfile(s, w / 'in' / n)
    out = w / 'out'
    r = run_json(['in', '-o', out], cwd=w)
    check(r.rc == 0, 'first run: exit %s\n  %s' % (r.rc, r.describe()))
    before = read_catalog(out)
    p = {n: str(w / 'in' / n) for n in srcs}
    # As the old vidx wrote it: paths as typed. x relative (found from w, same file), y relative
    # but changed since (not the same file), z absolute but spelt oddly, gone relative and missing.
    downgrade(out, {p['x.mp4']: 'in/x.mp4', p['y.mp4']: './in/y.mp4', p['z.mp4']: str(w) + '//in/./z.mp4',
                    p['gone.mp4']: 'old/gone.mp4'})
    with open(w / 'in' / 'y.mp4', 'ab') as f:
        f.write(b'\0' * 100)
    frames_before = {n: frame_files(out, before['videos'][p[n]]['key']) for n in srcs}
    # gone.mp4 moves to where the old run, started in w/old_cwd, saw it as old/gone.mp4
    (w / 'old_cwd' / 'old').mkdir(parents=True)
    os.rename(w / 'in' / 'gone.mp4', w / 'old_cwd' / 'old' / 'gone.mp4')
    F = Failures('catalog migration')
    r = run_json(['in', '-o', out], cwd=w)
    F.check(r.rc == 0, 'run on the old catalog: exit %s\n  %s' % (r.rc, r.describe()))
    F.check('schema 2' in r.stderr, 'no word of the upgrade on stderr: %r' % r.stderr[-500:])
    after = read_catalog(out)
    vids = after['videos']
    for n in ('x.mp4', 'z.mp4'):   # migrated: canonical path, same key, not redone
        v, old = vids.get(p[n]), before['videos'][p[n]]
        F.check(v is not None and v['key'] == old['key'] and v['attempts'] == 1 and v['status'] == 'ok',
                '%s: %s, expected the migrated row (key %s, 1 attempt)' % (n, v, old['key']))
        F.check(frame_files(out, old['key']) == frames_before[n], '%s: its frames changed' % n)
    F.check('./in/y.mp4' in vids and 'old/gone.mp4' in vids,
            'rows that do not match a file here must be left as they were: %s' % sorted(vids))
    F.check(vids.get('old/gone.mp4', {}).get('key') == before['videos'][p['gone.mp4']]['key'],
            'the row left as it was lost its key: %s' % vids.get('old/gone.mp4'))
    F.check(vids.get(p['y.mp4'], {}).get('status') == 'ok', 'the changed y.mp4 is not redone under its '
            'canonical path: %s' % vids.get(p['y.mp4']))
    end = end_event(r)
    F.check(end.get('done') == 1 and end.get('skipped') == 2, 'end event done %s skipped %s, expected 1 '
            '(y.mp4) and 2' % (end.get('done'), end.get('skipped')))
    # a later run from the old run's directory adopts the row left behind, key and all
    r = run_json([w / 'in', '-o', out], cwd=w / 'old_cwd')
    vids = read_catalog(out)['videos']
    gone = str(w / 'old_cwd' / 'old' / 'gone.mp4')
    F.check(r.rc == 0 and 'old/gone.mp4' not in vids and
            vids.get(gone, {}).get('key') == before['videos'][p['gone.mp4']]['key'],
            'a run from the old directory did not adopt old/gone.mp4: exit %s, rows %s'
            % (r.rc, sorted(vids)))
    F.check(end_event(r).get('done') == 0, 'the run from the old directory redid %s videos'
            % end_event(r).get('done'))
    con = sqlite3.connect(str(out / 'catalog.db'))
    schema = con.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    want = common.catalog_schema()
    F.check(schema is not None and str(schema[0]) == str(want), 'meta schema %s, expected %d'
            % (schema, want))
    # a catalog from a newer vidx is refused, untouched
    with con:
        con.execute("UPDATE meta SET value=? WHERE key='schema'", (str(want + 1),))
    con.close()
    snap = (out / 'catalog.db').read_bytes()
    r = run_json(['in', '-o', out], cwd=w)
    F.check(r.rc == 10 and 'schema %d' % (want + 1) in r.stderr,
            'schema %d: exit %s, expected 10 naming the schema\n  %s' % (want + 1, r.rc, r.describe()))
    F.check((out / 'catalog.db').read_bytes() == snap, 'the newer catalog was modified')
    F.raise_if_any()
