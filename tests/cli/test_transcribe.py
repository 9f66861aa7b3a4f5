"""`vidx transcribe FILE --asr-url URL`: the OpenAI-compatible HTTP backend against a real
HTTP server on loopback, started here (http.server in a thread). The server implements
POST /v1/audio/transcriptions: it checks the multipart form (a 16 kHz mono 16-bit WAV in
"file", response_format=verbose_json) and the Bearer key, and answers segments derived
from the request (the chunk's duration), or a scripted failure: 500, 429 with
Retry-After, a stall past --timeout, a malformed body, an error body echoing the key.
Every test checks that the key never appears in vidx's stdout or stderr."""
import json
import os
import re
import struct
import subprocess
import time

from common import FFMPEG, VIDX_TIMEOUT, check, fail, new_out_dir, run, vidx_bin
from endpoint import Endpoint

KEY = 'sk-test-7f3c9a1e5b2d4c68a0e1'
PATH = '/v1/audio/transcriptions'


def parse_multipart(ctype, body):
    m = re.search(r'boundary="?([^";]+)"?', ctype or '')
    if not m:
        raise ValueError('no multipart boundary in %r' % ctype)
    fields = {}
    for part in body.split(b'--' + m.group(1).encode())[1:]:
        if part.startswith(b'--'):
            break
        head, _, data = part.partition(b'\r\n\r\n')
        name = re.search(rb'name="([^"]+)"', head)
        if name:
            fields[name.group(1).decode()] = (head.decode('latin-1'), data[:-2])  # strip CRLF
    return fields


def wav_duration(data):
    if data[:4] != b'RIFF' or data[8:16] != b'WAVEfmt ':
        raise ValueError('not a WAV file')
    fmt, ch, rate, _, _, bits = struct.unpack('<HHIIHH', data[20:36])
    if (fmt, ch, rate, bits) != (1, 1, 16000, 16) or data[36:40] != b'data':
        raise ValueError('not 16 kHz mono s16 PCM: %r' % ((fmt, ch, rate, bits),))
    n = struct.unpack('<I', data[40:44])[0]
    if n != len(data) - 44:
        raise ValueError('data size %d, %d bytes follow' % (n, len(data) - 44))
    return n / 32000.0


class Asr(Endpoint):
    """The server; `script` is a list of modes used one per request (then 'ok')."""

    def __init__(self, script=(), key=KEY):
        self.script = list(script)
        self.key = key
        self.requests = []  # (time, duration or None, fields, authorization)
        self.problems = []
        Endpoint.__init__(self)

    def handle(self, h):
        body = h.rfile.read(int(h.headers.get('Content-Length', 0)))
        auth = h.headers.get('Authorization')
        mode = self.script.pop(0) if self.script else 'ok'
        try:
            if h.path != PATH:
                raise ValueError('path %s' % h.path)
            fields = parse_multipart(h.headers.get('Content-Type'), body)
            head, wav = fields['file']
            check('filename=' in head, 'file part without a filename')
            dur = wav_duration(wav)
            check(fields['response_format'][1] == b'verbose_json', 'response_format %r' % fields['response_format'][1])
            fields = {k: v[1] for k, v in fields.items() if k != 'file'}
        except Exception as e:  # noqa: BLE001 - reported to the test
            self.problems.append('bad request: %r' % e)
            return self.reply(h, 400, {'error': str(e)})
        self.requests.append((time.monotonic(), dur, fields, auth))
        if self.key and auth != 'Bearer ' + self.key:
            return self.reply(h, 401, {'error': 'bad key'})
        if mode == 'ok':
            return self.reply(h, 200, {'text': 'x', 'segments': [
                {'id': 0, 'start': 0.0, 'end': dur / 2, 'text': ' first half %.3f' % dur},
                {'id': 1, 'start': dur / 2, 'end': dur, 'text': 'second half'}]})
        if mode == '500':
            return self.reply(h, 500, {'error': 'overloaded'})
        if mode == '429':
            return self.reply(h, 429, {'error': 'slow down'}, [('Retry-After', '2')])
        if mode == 'stall':
            self.release.wait(60)
            return None
        if mode == 'malformed':
            return self.reply(h, 200, b'{"segments": [{"start": 0, "end"')
        if mode == 'echo-key':
            return self.reply(h, 403, {'error': 'key %s is not allowed' % KEY})
        raise AssertionError(mode)


def make_audio(tag, expr, seconds, ext='wav', video=False):
    out = new_out_dir(tag)
    out.mkdir(parents=True)
    path = out / ('in.' + ext)
    cmd = [FFMPEG, '-nostdin', '-v', 'error']
    if video:
        cmd += ['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=%g' % seconds]
    cmd += ['-f', 'lavfi', '-i', "aevalsrc='%s':s=44100:d=%g" % (expr, seconds)]
    cmd += (['-c:v', 'mpeg4', '-c:a', 'aac'] if video else []) + ['-y', str(path)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail('ffmpeg: %s' % r.stderr[-1000:])
    return path


def transcribe(path, url, *extra, env_key=KEY, key_var='VIDX_ASR_KEY', timeout=VIDX_TIMEOUT):
    env = {k: v for k, v in os.environ.items() if k not in ('VIDX_ASR_KEY', 'OPENAI_API_KEY')}
    if env_key is not None:
        env[key_var] = env_key
    r = run([vidx_bin(), 'transcribe', path, '--asr-url', url] + list(extra), env=env, timeout=timeout)
    check(not r.timed_out, 'vidx hung: %s' % r.describe())
    check(KEY not in r.stdout and KEY not in r.stderr, 'the API key leaked into the output: %s' % r.describe())
    return r


def ok_json(r):
    check(r.rc == 0, 'transcribe failed: %s' % r.describe())
    try:
        return json.loads(r.stdout)['segments']
    except (ValueError, KeyError) as e:
        fail('stdout is not {"segments": [...]} (%s): %r' % (e, r.stdout[:300]))


SPEECH = '0.5*sin(2*PI*440*t)'


def test_success_json():
    path = make_audio('asr_ok', SPEECH, 5, ext='mp4', video=True)
    with Asr() as asr:
        r = transcribe(path, asr.url + '/', '--asr-model', 'whisper-1', '--language', 'en')
    check(not asr.problems, '; '.join(asr.problems))
    check(len(asr.requests) == 1, '%d requests for 5 s of audio' % len(asr.requests))
    _, dur, fields, _ = asr.requests[0]
    check(abs(dur - 5.0) < 0.05, 'sent %.3f s of a 5 s file' % dur)
    check(fields.get('model') == b'whisper-1' and fields.get('language') == b'en', 'fields %r' % fields)
    segs = ok_json(r)
    check(len(segs) == 2, 'segments %r' % segs)
    check(segs[0]['start'] == 0 and abs(segs[1]['end'] - dur) < 1e-6, 'times %r' % segs)
    check(segs[0]['text'] == 'first half %.3f' % dur and segs[1]['text'] == 'second half', 'text %r' % segs)


def test_srt_vtt_to_new_file_only():
    path = make_audio('asr_formats', SPEECH, 3)
    out = path.parent
    with Asr() as asr:
        srt = transcribe(path, asr.url, '--format', 'srt', '-o', out / 'a.srt')
        vtt = transcribe(path, asr.url, '--format', 'vtt', '-o', out / 'a.vtt')
        (out / 'mine.srt').write_text('precious')
        again = transcribe(path, asr.url, '--format', 'srt', '-o', out / 'mine.srt')
    check(srt.rc == 0 and vtt.rc == 0 and srt.stdout == '', '%s\n%s' % (srt.describe(), vtt.describe()))
    check((out / 'a.srt').read_text() == '1\n00:00:00,000 --> 00:00:01,500\nfirst half 3.000\n\n'
          '2\n00:00:01,500 --> 00:00:03,000\nsecond half\n', 'srt: %r' % (out / 'a.srt').read_text())
    check((out / 'a.vtt').read_text().startswith('WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nfirst half'),
          'vtt: %r' % (out / 'a.vtt').read_text())
    check(again.rc == 5 and (out / 'mine.srt').read_text() == 'precious', 'overwrote: %s' % again.describe())


def test_retry_after_500():
    path = make_audio('asr_500', SPEECH, 2)
    with Asr(['500']) as asr:
        r = transcribe(path, asr.url)
    check(len(ok_json(r)) == 2 and len(asr.requests) == 2, 'requests %d' % len(asr.requests))


def test_500_until_retries_spent():
    path = make_audio('asr_500s', SPEECH, 2)
    with Asr(['500'] * 5) as asr:
        r = transcribe(path, asr.url, '--retries', '1')
    check(r.rc == 3 and len(asr.requests) == 2, 'rc %d, %d requests: %s' % (r.rc, len(asr.requests), r.describe()))
    check(asr.url + PATH in r.stderr and 'HTTP 500' in r.stderr, 'message: %s' % r.stderr)


def test_429_honours_retry_after():
    path = make_audio('asr_429', SPEECH, 2)
    with Asr(['429']) as asr:
        r = transcribe(path, asr.url)
    check(len(ok_json(r)) == 2 and len(asr.requests) == 2, 'requests %d' % len(asr.requests))
    gap = asr.requests[1][0] - asr.requests[0][0]
    # a lower bound only: the default first backoff is 0.5 s, Retry-After asked for 2 s
    check(gap >= 1.9, 'tried again after %.2f s, Retry-After said 2' % gap)


def test_stall_past_timeout():
    path = make_audio('asr_stall', SPEECH, 2)
    with Asr(['stall'] * 3) as asr:
        r = transcribe(path, asr.url, '--timeout', '1', '--retries', '1', timeout=30)
    check(r.rc == 3 and 'timed out' in r.stderr and 'no answer within 1 s' in r.stderr, r.describe())
    check(asr.url + PATH in r.stderr and len(asr.requests) == 2, '%d requests: %s' % (len(asr.requests), r.stderr))


def test_asr_spellings():
    """The --asr-* spellings that vidx run and vidx worker share (the older --timeout,
    --retries and --chunk stay): a stall past --asr-timeout, retries spent, chunks."""
    path = make_audio('asr_spell', SPEECH, 2)
    with Asr(['stall'] * 3) as asr:
        r = transcribe(path, asr.url, '--asr-timeout', '1', '--asr-retries', '1', timeout=30)
    check(r.rc == 3 and 'no answer within 1 s' in r.stderr and len(asr.requests) == 2,
          '%d requests: %s' % (len(asr.requests), r.describe()))
    with Asr(['500'] * 3) as asr:
        r = transcribe(path, asr.url, '--asr-retries', '0')
    check(r.rc == 3 and len(asr.requests) == 1, '--asr-retries 0: %d requests: %s'
          % (len(asr.requests), r.describe()))
    path = make_audio('asr_spell_long', '0.5*sin(2*PI*440*t)*lt(mod(t,4),3.5)', 12)
    with Asr() as asr:
        r = transcribe(path, asr.url, '--asr-chunk', '5')
    durs = [d for _, d, _, _ in asr.requests]
    check(r.rc == 0 and len(durs) == 3 and all(d <= 5.0 for d in durs), 'chunks %r: %s'
          % (durs, r.describe()))
    r = transcribe(path, 'http://127.0.0.1:9', '--asr-chunk', '0.5')
    check(r.rc == 2 and 'asr-chunk' in r.stderr, '--asr-chunk 0.5: %s' % r.describe())


def test_malformed_json():
    path = make_audio('asr_malformed', SPEECH, 2)
    with Asr(['malformed']) as asr:
        r = transcribe(path, asr.url)
    check(r.rc == 3 and 'malformed answer' in r.stderr and asr.url + PATH in r.stderr, r.describe())
    check(len(asr.requests) == 1, 'a malformed answer was retried (%d requests)' % len(asr.requests))
    check(r.stdout == '', 'output despite the error: %r' % r.stdout)


def test_error_body_with_key_redacted():
    path = make_audio('asr_echo', SPEECH, 2)
    with Asr(['echo-key']) as asr:
        r = transcribe(path, asr.url)  # transcribe() checks the key is nowhere in the output
    check(r.rc == 3 and 'HTTP 403' in r.stderr and 'is not allowed' in r.stderr, r.describe())


def test_key_from_named_variable():
    path = make_audio('asr_keyenv', SPEECH, 2)
    with Asr() as asr:
        r = transcribe(path, asr.url, '--asr-key-env', 'MY_ASR_TOKEN', key_var='MY_ASR_TOKEN')
        missing = transcribe(path, asr.url, env_key=None)
    check(r.rc == 0 and asr.requests[0][3] == 'Bearer ' + KEY, 'auth %r: %s' % (asr.requests[0][3], r.describe()))
    check(missing.rc == 3 and asr.requests[1][3] is None and 'HTTP 401' in missing.stderr, missing.describe())


def test_connection_refused():
    path = make_audio('asr_refused', SPEECH, 1)
    with Asr() as asr:
        url = asr.url
    r = transcribe(path, url.replace('//', '//alice:' + KEY + '@'), '--retries', '1')
    # the message names the URL without its user information (transcribe() checks the password is not there)
    check(r.rc == 3 and url + PATH in r.stderr, r.describe())


def test_long_file_chunked_at_pauses():
    # 64 s: tone with a 0.5 s pause every 7 s (at 6.5, 13.5, ...): chunks of <= 10 s must end in them
    path = make_audio('asr_long', '0.5*sin(2*PI*440*t)*lt(mod(t,7),6.5)', 64)
    with Asr() as asr:
        r = transcribe(path, asr.url, '--chunk', '10')
    check(not asr.problems, '; '.join(asr.problems))
    durs = [d for _, d, _, _ in asr.requests]
    check(len(durs) == 9, 'chunks %r' % durs)  # cut in each pause: 9 chunks of ~7 s
    check(all(d <= 10.0 for d in durs), 'a chunk over the 10 s limit: %r' % durs)
    check(abs(sum(durs) - 64.0) < 0.01, 'chunks add up to %.3f s of 64' % sum(durs))
    segs = ok_json(r)
    check(len(segs) == 2 * len(durs), '%d segments for %d chunks' % (len(segs), len(durs)))
    at = 0.0
    for i, d in enumerate(durs):
        cut = at
        check(i == 0 or any(abs(cut - (7 * k - 0.25)) <= 0.25 for k in range(1, 10)),
              'chunk %d starts at %.3f s, not in a pause: %r' % (i, cut, durs))
        first, second = segs[2 * i], segs[2 * i + 1]
        check(abs(first['start'] - at) < 1e-3 and abs(second['start'] - (at + d / 2)) < 1e-3
              and abs(second['end'] - (at + d)) < 1e-3, 'chunk %d at %.3f s: %r %r' % (i, at, first, second))
        at += d


def test_no_audio_empty_transcript():
    out = new_out_dir('asr_noaudio')
    out.mkdir(parents=True)
    path = out / 'v.mp4'
    subprocess.run([FFMPEG, '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=1',
                    '-c:v', 'mpeg4', '-y', str(path)], check=True, timeout=60)
    with Asr() as asr:
        r = transcribe(path, asr.url)
    check(ok_json(r) == [] and not asr.requests, 'requests %d: %s' % (len(asr.requests), r.describe()))


def test_huge_chunk_and_timeout():
    # limits past any recording are the recording (no overflowing conversion: UBSan build)
    path = make_audio('asr_huge', SPEECH, 2)
    with Asr() as asr:
        r = transcribe(path, asr.url, '--chunk', '1e300', '--timeout', '1e300')
    check(len(ok_json(r)) == 2 and len(asr.requests) == 1, 'requests %d: %s' % (len(asr.requests), r.describe()))
