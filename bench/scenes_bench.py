#!/usr/bin/python3
"""Shot boundary benchmark: vidx scenes against ffmpeg's scdet filter and
PySceneDetect 0.7.1 (AdaptiveDetector, ContentDetector), same clips, same run.

  bench/scenes_bench.py make      splice the clips into bench/data/scenes/ (ignored by git)
  bench/scenes_bench.py accuracy  precision, recall, F1, frame offsets per detector
  bench/scenes_bench.py speed     CPU seconds on one core: decode floor vs each detector

Clips (frame indices of the boundaries are known by construction; every part
is cut to an exact number of frames at 25 fps, 1280x720):
  psd_testvideo.mp4   the corpus clip as is: cuts at 30, 180, 394 (394 into a fade-in),
                      and a dissolve from about 531 to 558 (by eye; boundary 544, its
                      middle, +-2 frames: not by construction)
  moviepy_big_buck_bunny_0_30.webm  as is: cuts at 283, 376, 551 (checked by eye at
                      every frame a detector reported; not by construction)
  corpus_cuts.mp4     8 single-shot stretches of corpus clips joined by hard cuts
  corpus_fades.mp4    the same stretches, alternately joined by a cut and by a fade
                      out to black and in again (the boundary: the first frame of
                      the fade-in that shows anything, the part's second frame)
  generated.mp4       lavfi sources: moving test patterns, a Mandelbrot zoom, a pan
                      and a zoom over a still, camera flashes (one white frame, and
                      two), a cut into a fade-in (the boundary: the cut, as at
                      psd's 180), a fade out/in; hard cuts between
  corpus_dissolves.mp4  the stretches of corpus_cuts joined by dissolves (xfade) of
                      alternately 12 and 24 frames (the boundary: the dissolve's middle
                      frame; `make dissolves` makes this clip alone)
A detection matches a true boundary within TOL frames (1), each at most once.
Environment: VIDX (the vidx binary), VIDX_CORPUS, PSD (the PySceneDetect
directory), PEERS=vidx,scdet,psd-adaptive,psd-content to choose.
"""
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / 'bench' / 'data' / 'scenes'
CORPUS = Path(os.environ.get('VIDX_CORPUS', ROOT.parent / 'shared' / 'corpus'))
VIDX = os.environ.get('VIDX', str(ROOT / 'build' / 'tools' / 'vidx' / 'vidx'))
PSD = os.environ.get('PSD', str(CORPUS.parent / 'peers' / 'pyscenedetect'))
FPS = 25
TOL = 1
FADE = 12  # frames of a fade out, and of a fade in
DISSOLVE = 12  # frames of a dissolve (and twice that)

# (file, start seconds, frames): stretches inside one shot of each clip
STRETCHES = [
    ('moviepy_big_buck_bunny_0_30.webm', 12.0, 60),
    ('decord_flipping_a_pancake.mkv', 1.0, 75),
    ('torchcodec_nasa_13013.mp4', 1.0, 100),
    ('androidx_bear-vp9.webm', 0.0, 62),
    ('moviepy_big_buck_bunny_0_30.webm', 23.5, 80),
    ('androidx_roadtrip-vp92-10bit.webm', 0.0, 38),
    ('moviepy_big_buck_bunny_0_30.webm', 16.0, 90),
    ('torchcodec_nasa_13013.mp4', 5.0, 60),
]

NORM = 'fps=%d,scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2,' \
       'setsar=1,format=yuv420p' % FPS


def ffmpeg_encode(inputs, graph, out, frames):
    cmd = ['ffmpeg', '-nostdin', '-v', 'error', '-y'] + inputs + [
        '-filter_complex', graph, '-map', '[out]', '-r', str(FPS), '-frames:v', str(frames), '-c:v', 'libx264', '-preset',
        'veryfast', '-crf', '20', '-g', '50', '-bf', '0', str(out)]
    subprocess.run(cmd, check=True)


def make_corpus(fades):
    truth, at, files = [], 0, []
    for i, (f, ss, n) in enumerate(STRETCHES):
        fade_in = fades and i % 2 == 1
        fade_out = fades and i % 2 == 0 and i + 1 < len(STRETCHES)
        extra = (',fade=t=in:s=0:n=%d' % FADE if fade_in else '') + (
            ',fade=t=out:s=%d:n=%d' % (n - FADE, FADE) if fade_out else '')
        out = DATA / ('part%d.mp4' % i)
        ffmpeg_encode(['-ss', str(ss), '-t', str(n / FPS + 1), '-i', str(CORPUS / f)],
                      '[0:v]%s,trim=end_frame=%d,setpts=PTS-STARTPTS%s[out]' % (NORM, n, extra), out, n)
        files.append(out)
        if i:
            truth.append(at + 1 if fade_in else at)  # the fade-in's first frame is black
        at += n
    name = 'corpus_fades.mp4' if fades else 'corpus_cuts.mp4'
    join(files, DATA / name)
    return name, truth, at


def make_dissolves():
    """The stretches joined by dissolves (FFmpeg's xfade, transition fade) of alternately
    DISSOLVE and 2 x DISSOLVE frames. Frame i of a dissolve that begins at frame a and
    lasts n frames shows more of the new shot from a + n / 2 on: the boundary."""
    files, lengths = [], []
    for i, (f, ss, n) in enumerate(STRETCHES):
        out = DATA / ('dpart%d.mp4' % i)
        ffmpeg_encode(['-ss', str(ss), '-t', str(n / FPS + 1), '-i', str(CORPUS / f)],
                      '[0:v]%s,trim=end_frame=%d,setpts=PTS-STARTPTS[out]' % (NORM, n), out, n)
        files.append(out)
        lengths.append(n)
    inputs, graph, truth, at, prev = [], [], [], lengths[0], '[0:v]'
    for f in files:
        inputs += ['-i', str(f)]
    for i in range(1, len(files)):
        d = DISSOLVE if i % 2 else 2 * DISSOLVE
        at -= d  # the dissolve begins d frames before the end of what is joined so far
        graph.append('%s[%d:v]xfade=transition=fade:duration=%g:offset=%g[x%d]' % (prev, i, d / FPS, at / FPS, i))
        truth.append(at + d // 2)
        prev = '[x%d]' % i
        at += lengths[i]
    graph[-1] = graph[-1].rsplit('[', 1)[0] + '[out]'
    ffmpeg_encode(inputs, ';'.join(graph), DATA / 'corpus_dissolves.mp4', at)
    for f in files:
        f.unlink()
    return 'corpus_dissolves.mp4', truth, at


def make_generated():
    still = str(CORPUS / 'moviepy_big_buck_bunny_0_30.webm')
    src = [  # (lavfi or input graph head, frames, fade_in, fade_out)
        ('testsrc2=s=1280x720:r=25', 60, False, False),
        ('mandelbrot=s=1280x720:r=25', 75, False, False),  # zoom: everything moves
        ('[0:v]scale=2560:1440,loop=loop=-1:size=1,setpts=N/25/TB,crop=1280:720:x=10*n:y=300', 75, False, False),  # pan
        ('smptehdbars=s=1280x720:r=25,drawbox=c=white:t=fill:enable=eq(n\\,20)'
         ',drawbox=c=white:t=fill:enable=between(n\\,40\\,41)', 60, False, False),  # flashes
        ('[1:v]scale=1280:720,loop=loop=-1:size=1,setpts=N/25/TB,zoompan=z=1+0.01*on:d=1:s=1280x720:fps=25',
         75, True, False),  # a cut into a fade-in of a zoom
        ('testsrc=s=1280x720:r=25', 60, False, True),
        ('rgbtestsrc=s=1280x720:r=25', 60, True, False),
        ('cellauto=s=1280x720:r=25:rule=18,format=yuv420p', 50, False, False),
    ]
    truth, at, files = [], 0, []
    for i, (head, n, fin, fout) in enumerate(src):
        extra = (',fade=t=in:s=0:n=%d' % FADE if fin else '') + (',fade=t=out:s=%d:n=%d' % (n - FADE, FADE)
                                                                    if fout else '')
        inputs = ['-ss', '13' if '[0:v]' in head else '24', '-t', '0.2', '-i', still] if head.startswith('[') \
            else ['-f', 'lavfi', '-i', head.split(',')[0]]
        chain = head.split(',', 1)[1] + ',' if head.startswith('[') or ',' in head else ''
        if head.startswith('['):
            chain = head.split(']', 1)[1] + ','
        out = DATA / ('gen_part%d.mp4' % i)
        ffmpeg_encode(inputs, '[0:v]%sformat=yuv420p,setsar=1,trim=end_frame=%d,setpts=PTS-STARTPTS%s[out]' % (
            chain, n, extra), out, n)
        files.append(out)
        if i:
            truth.append(at + 1 if fin and src[i - 1][3] else at)
        at += n
    join(files, DATA / 'generated.mp4')
    return 'generated.mp4', truth, at


def join(files, out):
    """The concat demuxer over parts encoded alike (stream copy), then the parts go."""
    lst = out.with_suffix('.txt')
    lst.write_text(''.join("file '%s'\n" % f for f in files))
    subprocess.run(['ffmpeg', '-nostdin', '-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', str(lst),
                    '-c', 'copy', str(out)], check=True)
    for f in files + [lst]:
        f.unlink()


def make():
    DATA.mkdir(parents=True, exist_ok=True)
    # psd_testvideo: cuts at 30, 180, 394 (its published truth), and a dissolve from about
    # frame 531 to 558 (by eye, frame by frame): its middle, 544, is a boundary too
    truth = {'psd_testvideo.mp4': {'path': str(CORPUS / 'psd_testvideo.mp4'), 'cuts': [30, 180, 394, 544],
                                   'frames': 720},
             # by eye, at every frame any detector here reported: 31 (a fade in from dark),
             # 139 (a pan) and 498 (a bird flying off) are no cuts
             'moviepy_big_buck_bunny_0_30.webm': {
                 'path': str(CORPUS / 'moviepy_big_buck_bunny_0_30.webm'), 'cuts': [283, 376, 551], 'frames': 720}}
    which = sys.argv[2:] or ['cuts', 'fades', 'generated', 'dissolves']
    makers = {'cuts': lambda: make_corpus(False), 'fades': lambda: make_corpus(True),
              'generated': make_generated, 'dissolves': make_dissolves}
    old = json.loads((DATA / 'truth.json').read_text()) if (DATA / 'truth.json').exists() else {}
    truth.update({k: v for k, v in old.items() if k not in truth})
    for name, cuts, n in (makers[w]() for w in which):
        truth[name] = {'path': str(DATA / name), 'cuts': cuts, 'frames': n}
        got = int(subprocess.run(['ffprobe', '-v', 'error', '-count_frames', '-select_streams', 'v:0',
                                  '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', str(DATA / name)],
                                 capture_output=True, text=True, check=True).stdout.strip())
        if got != n:
            sys.exit('%s: %d frames, expected %d' % (name, got, n))
    (DATA / 'truth.json').write_text(json.dumps(truth, indent=1))
    print(json.dumps(truth, indent=1))


# --- detectors: each returns the 0-based first frames of the shots after the first

def det_vidx(path):
    out = subprocess.run([VIDX, 'scenes', path, '--threads', '1'], capture_output=True, text=True, check=True)
    return [s['first_frame'] for s in json.loads(out.stdout)['shots'][1:]]


def det_scdet(path):
    out = subprocess.run(['ffmpeg', '-nostdin', '-v', 'error', '-threads', '1', '-filter_threads', '1', '-i', path,
                          '-map', '0:v:0', '-vf', 'scdet,metadata=print:key=lavfi.scd.time:file=-', '-f', 'null', '-'],
                         capture_output=True, text=True, check=True)
    return [int(line.split()[0].split(':')[1]) for line in out.stdout.splitlines() if line.startswith('frame:')]


def det_psd(kind):
    def run(path):
        code = ('import sys; from scenedetect import detect, %s as D\n'
                'print([s[0].frame_num for s in detect(sys.argv[1], D(), backend="pyav")[1:]])' % kind)
        out = subprocess.run(['/usr/bin/python3', '-c', code, path], capture_output=True, text=True, check=True,
                             env=dict(os.environ, PYTHONPATH=PSD, OMP_NUM_THREADS='1', OPENCV_FOR_THREADS_NUM='1'))
        return json.loads(out.stdout.strip().splitlines()[-1])
    return run


DETECTORS = {'vidx': det_vidx, 'scdet': det_scdet, 'psd-adaptive': det_psd('AdaptiveDetector'),
             'psd-content': det_psd('ContentDetector')}


def match(truth, pred):
    """Greedy one-to-one matching within TOL: (tp, fp, fn, offsets of the matches)."""
    used, offs = set(), []
    for t in truth:
        best = min((p for p in pred if p not in used and abs(p - t) <= TOL), key=lambda p: abs(p - t),
                   default=None)
        if best is not None:
            used.add(best)
            offs.append(best - t)
    return len(offs), len(pred) - len(used), len(truth) - len(offs), offs


def cpu_of(fn, *args):
    """Runs fn; CPU seconds (user + sys) of the child processes it ran, and wall seconds."""
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    res = fn(*args)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return res, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), time.monotonic() - t0


def peers():
    return [p for p in os.environ.get('PEERS', ','.join(DETECTORS)).split(',') if p]


def accuracy():
    truth = json.loads((DATA / 'truth.json').read_text())
    total = {p: [0, 0, 0, []] for p in peers()}
    print('| clip | detector | boundaries (true) | found | TP | FP | FN | P | R | F1 | offsets | CPU s |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for clip, t in truth.items():
        for p in peers():
            pred, cpu, _ = cpu_of(DETECTORS[p], t['path'])
            tp, fp, fn, offs = match(t['cuts'], pred)
            acc = total[p]
            acc[0] += tp
            acc[1] += fp
            acc[2] += fn
            acc[3] += offs
            print('| %s | %s | %d | %s | %d | %d | %d | %s | %s | %.2f |' % (
                clip, p, len(t['cuts']), pred if len(pred) < 12 else '%d found' % len(pred), tp, fp, fn,
                prf(tp, fp, fn), sorted(set(offs)), cpu))
    print('\n| detector | TP | FP | FN | precision | recall | F1 | max abs offset |')
    print('|---|---|---|---|---|---|---|---|')
    for p, (tp, fp, fn, offs) in total.items():
        print('| %s | %d | %d | %d | %s | %s |' % (p, tp, fp, fn, prf(tp, fp, fn),
                                                   max(map(abs, offs)) if offs else '-'))


def prf(tp, fp, fn):
    pr = tp / (tp + fp) if tp + fp else 1.0
    rc = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * pr * rc / (pr + rc) if pr + rc else 0.0
    return '%.3f | %.3f | %.3f' % (pr, rc, f1)


def speed():
    """One core: ffmpeg decode to null (the floor), each detector; best of 3 CPU seconds."""
    clips = [str(CORPUS / 'moviepy_big_buck_bunny_0_30.webm'), str(CORPUS / 'psd_testvideo.mp4'),
             str(DATA / 'corpus_cuts.mp4')]

    def floor(path):
        subprocess.run(['ffmpeg', '-nostdin', '-v', 'error', '-threads', '1', '-i', path, '-map', '0:v:0',
                        '-f', 'null', '-'], check=True)

    print('| clip | seconds of video | decode floor (ffmpeg -f null) | %s |' % ' | '.join(peers()))
    print('|---|---|---|%s' % ('---|' * len(peers())))
    for c in clips:
        dur = float(subprocess.run(['ffprobe', '-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', c],
                                   capture_output=True, text=True, check=True).stdout)
        base = min(cpu_of(floor, c)[1] for _ in range(3))
        row = []
        for p in peers():
            cpu = min(cpu_of(DETECTORS[p], c)[1] for _ in range(3))
            row.append('%.2f s (%+.0f %%, %.0fx real time)' % (cpu, 100 * (cpu / base - 1), dur / cpu))
        print('| %s | %.1f | %.2f s (%.0fx) | %s |' % (Path(c).name, dur, base, dur / base, ' | '.join(row)))


if __name__ == '__main__':
    {'make': make, 'accuracy': accuracy, 'speed': speed}[sys.argv[1] if len(sys.argv) > 1 else 'accuracy']()
