"""Audio: `vidx audio FILE -o OUT` and --audio/--audio-stream (issue 11, item 1).

Clips are generated here with ffmpeg's lavfi sources, with a 1 kHz beep at a
known time, so where the beep lands in the output says whether the samples
are on the file's timeline (t=0 of the audio file = time 0 of the file).

  offset_pcm_exact        audio starts at +0.5 s (44.1 kHz stereo PCM in MOV): the WAV is
                          16 kHz mono, lasts the stream's end time within one sample, the
                          beep lands at 0.5 + 1.2 s within one sample period
  offset_aac_trimmed      the same with AAC (priming and padding): length within one sample
                          of start_time + duration, beep within a few ms
  gap_filled              a 0.5 s timestamp gap (MKV): silence fills it, the beep after it
                          lands 0.5 s later
  discontinuity_ts        MPEG-TS whose audio timestamps jump 100 s forward (a reset): the
                          samples stay contiguous (2.5 s, beep at 1.2 s), no 100 s of silence
  formats                 flac and opus decode to the same length as the wav
  opus_rate_refused       --format opus --rate 44100 is a usage error, nothing written
  audio_stream            --audio-stream 1 takes the second audio stream; 2 of 2 is exit 2
                          naming the count; frames/run take it too
  refuses_user_file       an existing file vidx did not write is left alone (exit 12), other
                          files in the folder too; --force replaces it; vidx's own is replaced;
                          no temporary file is left
  no_audio                `vidx audio` of a video without audio: exit 3, nothing written;
                          `vidx frames --audio wav` of it: ok, no audio file
  run_audio_none          `vidx run --audio wav` over a video with and one without audio: both
                          ok, videos.audio 'wav' and 'none' in the catalog, the end event's
                          audio_none 1 and the summary line says it
"""
import json
import os
import sqlite3
import wave

import common
from common import check, fail

RATE = 16000


def work(tag):
    d = common.new_out_dir(tag)
    d.mkdir(parents=True)
    return d.resolve()


def ffmpeg(*args):
    r = common.run(['ffmpeg', '-v', 'error', '-y'] + [str(a) for a in args], timeout=120)
    if r.rc != 0:
        fail('ffmpeg failed: %s' % r.stderr[-500:])


def ffprobe_stream(path, sel='a:0'):
    r = common.run(['ffprobe', '-v', 'error', '-select_streams', sel, '-show_entries',
                    'stream=start_time,duration,sample_rate,channels', '-of', 'json', str(path)])
    return json.loads(r.stdout)['streams'][0]


def beep(t0, t1, extra=''):
    """An aevalsrc expression: a 1 kHz beep from t0 to t1 (stream time), silence elsewhere."""
    e = "if(between(t\\,%g\\,%g)\\,0.5*sin(2*PI*1000*t)\\,0)" % (t0, t1)
    return "aevalsrc='%s|%s':s=44100:d=2.5%s" % (e, e, extra)


def read_wav(path):
    with wave.open(str(path)) as w:
        check(w.getframerate() == RATE and w.getnchannels() == 1,
              '%s: %d Hz %d ch, not 16 kHz mono' % (path, w.getframerate(), w.getnchannels()))
        data = w.readframes(w.getnframes())
    return [int.from_bytes(data[i:i + 2], 'little', signed=True) for i in range(0, len(data), 2)]


def onset(samples):
    peak = max(abs(x) for x in samples)
    check(peak > 1000, 'no beep in the output (peak %d)' % peak)
    return next(i for i, x in enumerate(samples) if abs(x) > peak / 4) / RATE


def vaudio(args, want=0):
    r = common.run_vidx(['audio'] + list(args))
    check(r.rc == want, 'vidx audio %s: exit %d, want %d: %s' % (args, r.rc, want, r.stderr[-400:]))
    return r


def offset_clip(d, codec):
    p = d / ('off.mov' if codec == 'pcm_s16le' else 'off.mp4')
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:d=3', '-itsoffset', '0.5', '-f',
           'lavfi', '-i', beep(1.2, 1.4), '-map', 0, '-map', 1, '-c:v', 'libx264', '-c:a', codec, p)
    return p


def stream_end(path):
    st = ffprobe_stream(path)
    return float(st['start_time']) + float(st['duration'])


def test_offset_pcm_exact():
    d = work('audio_offset_pcm')
    src = offset_clip(d, 'pcm_s16le')
    vaudio([src, '-o', d / 'a.wav'])
    s = read_wav(d / 'a.wav')
    end = stream_end(src)
    check(abs(len(s) / RATE - end) <= 1.0 / RATE,
          'length %.6f s, the stream ends at %.6f s' % (len(s) / RATE, end))
    # the beep starts at phase 0: its first sample is 0, the second the first past peak/4
    check(abs(onset(s) - (1.7 + 1.0 / RATE)) <= 1.0 / RATE, 'beep at %.6f s, want 1.7' % onset(s))
    check(max(abs(x) for x in s[:int(0.45 * RATE)]) == 0, 'the leading 0.5 s is not silence')


def test_offset_aac_trimmed():
    d = work('audio_offset_aac')
    src = offset_clip(d, 'aac')
    vaudio([src, '-o', d / 'a.wav'])
    s = read_wav(d / 'a.wav')
    end = stream_end(src)
    check(abs(len(s) / RATE - end) <= 1.0 / RATE,
          'length %.6f s, the stream ends at %.6f s (start_time + duration)' % (len(s) / RATE, end))
    check(abs(onset(s) - 1.7) <= 0.003, 'beep at %.6f s, want 1.7' % onset(s))


def test_gap_filled():
    d = work('audio_gap')
    src = d / 'gap.mkv'
    # from t=1.0 on the timestamps jump by 0.5 s: a gap of 0.5 s (at a frame boundary, ~1.02 s)
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:d=3', '-f', 'lavfi', '-i',
           beep(1.2, 1.4, ",asetpts='if(gte(T\\,1)\\,PTS+0.5/TB\\,PTS)'"), '-map', 0, '-map', 1,
           '-c:v', 'libx264', '-c:a', 'pcm_s16le', src)
    vaudio([src, '-o', d / 'a.wav'])
    s = read_wav(d / 'a.wav')
    # MKV keeps milliseconds: a timestamp may be 0.5 ms off, the gap with it
    check(abs(len(s) / RATE - 3.0) <= 0.002, 'length %.6f s, want 3.0 (2.5 s + 0.5 s gap)' % (len(s) / RATE))
    check(abs(onset(s) - 1.7) <= 0.002, 'beep at %.6f s, want 1.7 (1.2 + the gap)' % onset(s))
    gap = s[int(1.1 * RATE):int(1.45 * RATE)]
    check(max(abs(x) for x in gap) == 0, 'the gap is not silence')


def test_discontinuity_ts():
    d = work('audio_discont')
    src = d / 'jump.ts'
    ffmpeg('-f', 'lavfi', '-i', beep(1.2, 1.4, ",asetpts='if(gte(T\\,1)\\,PTS+100/TB\\,PTS)'"),
           '-c:a', 'mp2', src)
    vaudio([src, '-o', d / 'a.wav'])
    s = read_wav(d / 'a.wav')
    # mp2 frames are 1152 samples and its decoder delays ~11 ms: a frame's worth of slack
    check(2.49 <= len(s) / RATE <= 2.53, 'length %.3f s, want 2.5 (no silence for the reset)' % (len(s) / RATE))
    check(abs(onset(s) - 1.2) <= 0.03, 'beep at %.4f s, want 1.2' % onset(s))


def decoded_seconds(path):
    r = common.run(['ffmpeg', '-v', 'error', '-i', str(path), '-f', 's16le', '-ac', '1', '-ar', '16000', '-'],
                   text=False)
    return len(r.stdout) / 2 / RATE


def test_formats():
    d = work('audio_formats')
    src = offset_clip(d, 'pcm_s16le')
    for ext in ('wav', 'flac', 'opus'):
        vaudio([src, '-o', d / ('a.' + ext)])
    n = decoded_seconds(d / 'a.wav')
    for ext in ('flac', 'opus'):
        got = decoded_seconds(d / ('a.' + ext))
        check(abs(got - n) <= 1.0 / RATE, '%s: %.6f s, the wav %.6f s' % (ext, got, n))
    st = ffprobe_stream(d / 'a.opus')
    check(int(st['channels']) == 1, 'opus: %s channels' % st['channels'])
    r = vaudio([src, '-o', d / 'b.opus', '--rate', '44100'], want=2)
    check('Opus' in r.stderr and not (d / 'b.opus').exists(), 'opus at 44.1 kHz: %s' % r.stderr)


def two_stream_clip(d):
    p = d / 'two.mkv'
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:d=3', '-f', 'lavfi', '-i',
           "sine=f=440:r=44100:d=3", '-f', 'lavfi', '-i', beep(1.2, 1.4), '-map', 0, '-map', 1,
           '-map', 2, '-c:v', 'libx264', '-c:a', 'pcm_s16le', p)
    return p


def test_audio_stream():
    d = work('audio_stream')
    src = two_stream_clip(d)
    vaudio([src, '-o', d / 'a0.wav'])
    vaudio([src, '-o', d / 'a1.wav', '--audio-stream', '1'])
    check(abs(onset(read_wav(d / 'a1.wav')) - 1.2) <= 0.002, '--audio-stream 1 is not the beep')
    check(onset(read_wav(d / 'a0.wav')) < 0.01, 'the default is not the first (440 Hz) stream')
    r = vaudio([src, '-o', d / 'a2.wav', '--audio-stream', '2'], want=2)
    check('2 audio streams' in r.stderr and 'two.mkv' in r.stderr, 'message: %s' % r.stderr)
    check(not (d / 'a2.wav').exists(), 'a2.wav written')
    r = common.run_vidx(['frames', src, '-o', d / 'f', '--count', 1, '--audio', 'wav', '--audio-stream', 1])
    check(r.rc == 0, 'frames --audio-stream 1: %s' % r.stderr)
    check(abs(onset(read_wav(d / 'f' / 'audio.wav')) - 1.2) <= 0.002, 'frames took the wrong stream')
    r = common.run_vidx(['frames', src, '-o', d / 'g', '--count', 1, '--audio', 'wav', '--audio-stream', 5])
    check(r.rc == 2 and '--audio-stream 5' in r.stderr, 'frames --audio-stream 5: %d %s' % (r.rc, r.stderr))
    r = common.run_vidx(['run', src, '-o', d / 'run', '--count', 1, '--audio', 'flac', '--audio-stream', 1])
    got = list((d / 'run').rglob('audio.flac'))
    check(r.rc == 0 and len(got) == 1, 'run --audio-stream 1: %s' % r.stderr)
    ffmpeg('-i', got[0], d / 'run.wav')
    check(abs(onset(read_wav(d / 'run.wav')) - 1.2) <= 0.002, 'run took the wrong stream')


def test_refuses_user_file():
    d = work('audio_user_file')
    src = offset_clip(d, 'pcm_s16le')
    mine = d / 'mine.wav'
    mine.write_bytes(b'my own recording')
    other = d / 'notes.txt'
    other.write_text('keep me')
    r = vaudio([src, '-o', mine], want=12)
    check(mine.read_bytes() == b'my own recording', 'the user file changed')
    check('--force' in r.stderr and 'mine.wav' in r.stderr, 'message: %s' % r.stderr)
    vaudio([src, '-o', d / 'ours.wav'])
    vaudio([src, '-o', d / 'ours.wav', '--rate', '8000'])  # vidx's own: replaced
    with wave.open(str(d / 'ours.wav')) as w:
        check(w.getframerate() == 8000, 'vidx did not replace its own file')
    vaudio([src, '-o', mine, '--force'])
    check(mine.read_bytes()[:4] == b'RIFF', '--force did not replace it')
    check(other.read_text() == 'keep me', 'an unrelated file changed')
    left = sorted(p.name for p in d.iterdir() if p.name.startswith('.'))
    check(not left, 'temporary files left: %s' % left)


def test_no_audio():
    d = work('audio_none')
    src = d / 'silent.mp4'
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:d=2', '-c:v', 'libx264', src)
    r = vaudio([src, '-o', d / 'a.wav'], want=3)
    check('no audio' in r.stderr and not (d / 'a.wav').exists(), 'message: %s' % r.stderr)
    r = common.run_vidx(['frames', src, '-o', d / 'f', '--count', 2, '--audio', 'wav', '--json'])
    check(r.rc == 0 and not list((d / 'f').glob('audio.*')), 'frames --audio wav: %d %s' % (r.rc, r.stderr))
    check(json.loads(r.stdout).get('audio') == 'none', 'frames --json: %s' % r.stdout)


def test_run_audio_none():
    d = work('audio_run_none')
    (d / 'in').mkdir()
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:d=2', '-c:v', 'libx264', d / 'in' / 'quiet.mp4')
    offset_clip(d / 'in', 'pcm_s16le')
    r = common.run_vidx(['run', d / 'in', '-o', d / 'out', '--count', 2, '--audio', 'wav',
                         '--progress', 'json'])
    check(r.rc == 0, 'run: exit %d: %s' % (r.rc, r.stderr[-400:]))
    end = [json.loads(l) for l in r.stdout.splitlines() if '"end"' in l][-1]
    check(end.get('ok') == 2 and end.get('audio_none') == 1, 'end event: %s' % end)
    check('1 videos without audio' in r.stderr, 'summary: %s' % r.stderr[-600:])
    con = sqlite3.connect(str(d / 'out' / 'catalog.db'))
    rows = dict((os.path.basename(p), (st, a)) for p, st, a in con.execute('SELECT path, status, audio FROM videos'))
    n_audio = con.execute('SELECT count(*) FROM audio').fetchone()[0]
    con.close()
    check(rows == {'quiet.mp4': ('ok', 'none'), 'off.mov': ('ok', 'wav')} and n_audio == 1,
          'catalog: %s, %d audio rows' % (rows, n_audio))
