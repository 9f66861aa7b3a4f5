#!/usr/bin/env python3
"""make_wire_seeds.py - writes the seed messages of corpus/wire/ in the batch
wire format of src/batch/wire.c: tasks (files and shards layouts, a path with
a tab, a newline and non-UTF-8 bytes), starts, results (ok, partial, failed,
out of memory, audio, shards) and a conversation of both directions. The
fuzz-* and regress-* files there are kept: found inputs, not seeds.

    python3 tests/fuzz/make_wire_seeds.py tests/fuzz/corpus/wire
"""
import json
import os
import sys

SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'


def task(path, scratch, shard=None, offset=0):
    line = 'path=%s scratch=%s' % (path.hex(), scratch.hex())
    if shard is not None:
        line += ' shard=%s offset=%d' % (shard.hex(), offset)
    return line.encode() + b'\n'


def frame(index, target, name, tar=(-1, 0), dup_of=-1):
    return {'index': index, 'target': target, 'time': target + 0.02, 'pts': index * 512,
            'keyframe': index == 0, 'width': 32, 'height': 32, 'bytes': 1234, 'path': name,
            'sha256': SHA, 'phash': 1234567890123, 'dup_of': dup_of,
            'tar_offset': tar[0], 'tar_size': tar[1]}


def result(status=0, cls='ok', message='', partial=False, frames=(), tar=(0, 0), **extra):
    o = {'status': status, 'class': cls, 'message': message, 'partial': partial,
         'seconds': 0.25, 'frames': list(frames), 'decoded': 4, 'errors': 3 if status else 0,
         'tar_end': tar[0], 'tar_samples': tar[1]}
    o.update(extra)
    return b'R ' + json.dumps(o, separators=(',', ':')).encode() + b'\n'


OK = [frame(0, 0.0, '000000_0ms.jpg'), frame(3, 0.3, '000003_300ms.jpg')]
FAIL = dict(status=-30004, cls='decode', message='a.mp4: video could not be decoded')
PROBE = {'probe': '{"format":"mov,mp4"}'}

SEEDS = {
    'task_files': task(b'in/a b.mp4', b'/out/.scratch/0123abcd'),
    'task_shards': task(b'/lib/vid\tx.mkv', b'/out/.scratch/k1', b'/out/shards/000001.tar', 10240),
    'task_bytes': task(b'/lib/\xff\xfe\n\x01 =.mp4', b'/out/.scratch/k2'),
    'task_roundtrip': b'in/x\n.mp4\t/out/.scratch/k\t/out/shards/000000.tar\n',
    'start': b'S 12.345\n',
    'start_unknown': b'S -1.000\n',
    'result_ok': result(frames=OK, **PROBE),
    'result_partial': result(partial=True, frames=OK, message='damaged input', **PROBE),
    'result_fail': result(**FAIL),
    'result_nomem': result(status=-12, cls='nomem', message='a.mp4: out of memory'),
    'result_audio': result(frames=OK, audio={'path': 'audio.wav', 'rate': 16000, 'channels': 1,
                                             'duration': 0.2}, **PROBE),
    'result_shards': result(frames=[frame(0, 0.0, '000000_0ms.jpg', (0, 2048)),
                                    frame(1, 0.1, '000001_100ms.jpg', (2048, 2048)),
                                    frame(2, 0.2, None, dup_of=1)],
                            tar=(4096, 2), **PROBE),
    'conversation': task(b'a.mp4', b'/o/.scratch/a') + b'S 1.0\nP\nP\n' +
    result(frames=OK, **PROBE) + task(b'b.mp4', b'/o/.scratch/b') + result(**FAIL),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__),
                                                              'corpus', 'wire')
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
