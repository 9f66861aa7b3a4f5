"""`vidx transcribe FILE` with the built-in recogniser (PocketSphinx, no --asr-url) on speech
made here: espeak-ng speaks known sentences (its Klatt voice), ffmpeg puts them in a video
after 2 s of silence. The words come back (a word error rate bound, not an exact match) on
the file's clock, in order, nothing from PocketSphinx on stderr; chunked at a pause with
--chunk they still do; a missing model and a language other than English are usage errors
(exit 2) naming the cause; under valgrind memcheck (test_memcheck's harness) PocketSphinx's
load, decode and free are clean. espeak-ng, ffmpeg and the model come from scripts/deps.sh."""
import json
import os
import re
import subprocess
import wave

from common import FFMPEG, check, fail, new_out_dir, run, vidx_bin

A = 'The weather is very nice and the sun is shining.'
B = 'We will meet our friends at the station.'


def words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def wer(ref, hyp):
    r, h = words(ref), words(hyp)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
    return d[len(h)] / len(r)


def speech_video(tag):
    """v.mp4: 2 s of silence, A, 1.5 s of silence, B; video alongside. Returns its path and
    the end of the speech (s)."""
    out = new_out_dir(tag)
    out.mkdir(parents=True)
    for name, text in (('a.wav', A), ('b.wav', B)):
        subprocess.run(['espeak-ng', '-v', 'en-us+klatt2', '-s', '140', '-w', str(out / name), text],
                       check=True, timeout=60)
    end = 3.5 + sum(wav_seconds(out / name) for name in ('a.wav', 'b.wav'))
    path = out / 'v.mp4'
    graph = ('anullsrc=r=22050:cl=mono:d=2[s0];anullsrc=r=22050:cl=mono:d=1.5[s1];'
             '[s0][1:a][s1][2:a]concat=n=4:v=0:a=1[a]')
    subprocess.run([FFMPEG, '-nostdin', '-v', 'error', '-f', 'lavfi', '-i',
                    'testsrc=size=64x48:rate=10:duration=12', '-i', str(out / 'a.wav'), '-i',
                    str(out / 'b.wav'), '-filter_complex', graph, '-map', '0:v', '-map', '[a]',
                    '-c:v', 'mpeg4', '-c:a', 'aac', '-ar', '16000', '-y', str(path)],
                   check=True, timeout=60)
    return path, end


def wav_seconds(path):
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def segments(r):
    if r.rc != 0:
        fail(r.describe())
    try:
        return json.loads(r.stdout)['segments']
    except (ValueError, KeyError) as e:
        fail('stdout is not {"segments": [...]} (%s): %r' % (e, r.stdout[:300]))


def check_ordered(segs, lo, hi):
    for i, s in enumerate(segs):
        check(lo <= s['start'] < s['end'] <= hi, 'segment %d out of [%g, %g]: %r' % (i, lo, hi, segs))
        check(i == 0 or s['start'] >= segs[i - 1]['end'], 'segments overlap: %r' % segs)


def test_builtin_words_on_the_files_clock():
    path, end = speech_video('asr_builtin')
    r = run([vidx_bin(), 'transcribe', path])
    segs = segments(r)
    text = ' '.join(s['text'] for s in segs)
    e = wer(A + ' ' + B, text)
    check(e <= 0.35, 'WER %.2f: %r' % (e, text))
    check(r.stderr == '', 'stderr: %r' % r.stderr[:500])
    check_ordered(segs, 1.9, end + 0.1)
    check(len(segs) >= 2, 'the 1.5 s pause splits no phrase: %r' % segs)


def test_builtin_chunked_at_the_pause():
    path, end = speech_video('asr_builtin_chunk')
    whole = segments(run([vidx_bin(), 'transcribe', path]))
    r = run([vidx_bin(), 'transcribe', path, '--chunk', '6'])
    segs = segments(r)
    text = ' '.join(s['text'] for s in segs)
    e = wer(A + ' ' + B, text)
    check(e <= 0.35, 'WER %.2f with --chunk 6: %r' % (e, text))
    check_ordered(segs, 1.9, end + 0.1)
    check(abs(segs[-1]['end'] - whole[-1]['end']) < 0.3,
          'last word ends at %.2f chunked, %.2f whole' % (segs[-1]['end'], whole[-1]['end']))


def test_builtin_missing_model():
    path, _ = speech_video('asr_builtin_nomodel')
    env = dict(os.environ, VIDX_SPHINX_MODEL='/nonexistent/vidx-model')
    r = run([vidx_bin(), 'transcribe', path], env=env)
    check(r.rc == 2 and r.stdout == '', r.describe())
    check('/nonexistent/vidx-model' in r.stderr and 'VIDX_SPHINX_MODEL' in r.stderr, r.describe())


def test_builtin_english_only():
    path, _ = speech_video('asr_builtin_lang')
    r = run([vidx_bin(), 'transcribe', path, '--language', 'de'])
    check(r.rc == 2 and r.stdout == '' and "'de'" in r.stderr, r.describe())


def test_builtin_memcheck():
    from test_memcheck import _check_reports, _memcheck
    out = new_out_dir('asr_builtin_memcheck')
    out.mkdir(parents=True)
    wav = out / 'a.wav'
    subprocess.run(['espeak-ng', '-v', 'en-us+klatt2', '-s', '140', '-w', str(wav), 'The weather is very nice.'],
                   check=True, timeout=60)
    res, reports = _memcheck('memcheck-asr-builtin', ['transcribe', wav, '--format', 'srt'])
    check(res.rc == 0 and 'weather' in res.stdout, 'vidx transcribe failed under valgrind\n' + res.describe())
    _check_reports(res, reports, 1)
