"""Colour: vidx's PNG / JPEG output against FFmpeg's own RGB24 conversion of the same frame.

Reference: ffmpeg [-noautorotate] -i F -map 0:N -vf select=eq(n\\,K),format=rgb24 (PAM out), once
with FFmpeg's default scaler flags and once with accurate_rnd+full_chroma_int; the better
of the two counts; vidx's files are decoded by FFmpeg, for JPEG also with interpolated chroma
(a correct q95 JPEG of the synthetic testsrc2 fixture only reaches ~31 dB with FFmpeg's default
nearest-chroma decode, ~36.5 dB interpolated; real footage ~43-46 dB).
Thresholds: PNG >= 40 dB, JPEG (--quality 95) >= 32 dB. The measured
values are printed as notes. HDR clips (PQ/HLG) are left out: tone mapping is not specified.
"""
from common import Failures, corpus_clip, decode_rgb, fail, fixture, note, psnr, vidx_frames
from oracle import oracle, reference_rgb

ACCURATE = 'accurate_rnd+full_chroma_int'
PNG_MIN = 40.0
JPG_MIN = 32.0

CLIPS = [
    # (label, getter, presentation index)
    ('torchcodec_nasa_13013.mp4', lambda: corpus_clip('torchcodec_nasa_13013.mp4'), 100),   # bt709 tagged
    ('psd_testvideo.mp4', lambda: corpus_clip('psd_testvideo.mp4'), 150),                   # untagged 720p
    ('androidx_bear-vp9.webm', lambda: corpus_clip('androidx_bear-vp9.webm'), 40),
    ('androidx_sample_android_slow_motion.mp4',
     lambda: corpus_clip('androidx_sample_android_slow_motion.mp4'), 3),                     # yuvj420p full range
    ('androidx_roadtrip-vp92-10bit.webm', lambda: corpus_clip('androidx_roadtrip-vp92-10bit.webm'), 30),  # 10-bit
    ('androidx_sample.avi', lambda: corpus_clip('androidx_sample.avi'), 50),                # MPEG-4 Part 2
    ('decord_video_90.mov', lambda: corpus_clip('decord_video_90.mov'), 1),                 # rotated
    ('moviepy_fire2.mp4', lambda: corpus_clip('moviepy_fire2.mp4'), 10),                    # rotated 180
    ('fixture/hevc10.mp4', lambda: fixture('hevc10.mp4'), 10),                              # 10-bit HEVC
    ('fixture/cfr.mp4', lambda: fixture('cfr.mp4'), 20),
]


def _diagnose(img, ref):
    """Hints for the usual colour bugs: range (limited stored as full or back) and matrix."""
    import numpy as np
    a = img.astype(np.float64)
    hints = ['mean RGB vidx %s vs FFmpeg %s' % (np.round(a.reshape(-1, 3).mean(0), 1).tolist(),
                                                np.round(ref.reshape(-1, 3).mean(0), 1).tolist())]
    expand = np.clip((a - 16.0) * 255.0 / 219.0, 0, 255)
    compress = a * 219.0 / 255.0 + 16.0
    base = psnr(img, ref)
    for name, x in (('limited-range samples shown as full range', expand),
                    ('full-range samples shown as limited range', compress)):
        v = psnr(np.round(x).astype(np.uint8), ref)
        if v > base + 3:
            hints.append('after undoing "%s" PSNR would be %.2f dB: looks like a range error' % (name, v))
    return '; ' + '; '.join(hints)


def _matrix_hint(path, o, idx, auto, img, best):
    """Which YCbCr matrix vidx's picture matches, if a forced one fits better than the frame's own."""
    out = []
    for m in ('bt601', 'bt709', 'bt2020'):
        try:
            ref = reference_rgb(path, o.stream, idx, autorotate=auto,
                                vf_extra='scale=in_color_matrix=%s:flags=%s' % (m, ACCURATE))
        except Exception:
            continue
        if ref.shape == img.shape:
            v = psnr(img, ref)
            if v > best + 3:
                out.append('%s %.2f dB' % (m, v))
    if not out:
        return ''
    cs = (o.st.get('color_space') or 'unknown')
    return '; vidx matches FFmpeg with a forced matrix: %s (stream color_space %s; FFmpeg uses the frame\'s)' % (
        ', '.join(out), cs)


def _case(label, getpath, idx):
    def fn():
        path = getpath()
        o = oracle(path)
        auto = o.rotation() != 0
        F = Failures(label)
        refs_by_pos = {}
        for fmt, extra, lim in (('png', [], PNG_MIN), ('jpg', ['--quality', '95'], JPG_MIN)):
            fr = vidx_frames(path, ['--index', str(idx), '--format', fmt] + extra, md5=False)
            if fr.rc != 0 or not fr.manifest:
                F.add('%s: exit %r\n  %s' % (fmt, fr.rc, fr.res.describe()))
                continue
            # compare with the frame vidx actually delivered (frame selection is tested elsewhere)
            pos = o.pos_of_pts(fr.manifest[0].get('pts'))
            if pos is None:
                F.add('%s: delivered pts %r is not a decoded frame' % (fmt, fr.manifest[0].get('pts')))
                continue
            if pos not in refs_by_pos:
                refs_by_pos[pos] = {
                    'default': reference_rgb(path, o.stream, pos, autorotate=auto),
                    'accurate': reference_rgb(path, o.stream, pos, autorotate=auto, flags=ACCURATE),
                }
            refs = refs_by_pos[pos]
            out = fr.outdir / fr.manifest[0]['path']
            # decode vidx's file with FFmpeg's default conversion and with interpolated chroma
            decs = {'default': decode_rgb(out), 'accurate': decode_rgb(out, flags=ACCURATE)}
            vals = {}
            for k, ref in refs.items():
                for dk, img in decs.items():
                    if img.shape != ref.shape:
                        F.add('%s: vidx %dx%d vs FFmpeg %dx%d' % (fmt, img.shape[1], img.shape[0], ref.shape[1],
                                                                   ref.shape[0]))
                        break
                    vals[k] = max(vals.get(k, 0.0), psnr(img, ref))
            if len(vals) != len(refs) or F.msgs:
                continue
            best = max(vals.values())
            note('%s %s frame %d: PSNR %.2f dB (vs default swscale %.2f, vs accurate %.2f)' % (
                label, fmt.upper(), pos, best, vals['default'], vals['accurate']))
            if best < lim:
                diag = _diagnose(decs['accurate'], refs['accurate'])
                if 'range error' not in diag:
                    diag += _matrix_hint(path, o, pos, auto, decs['accurate'], best)
                F.add('%s: PSNR %.2f dB < %.0f dB (default %.2f, accurate %.2f)%s' % (
                    fmt, best, lim, vals['default'], vals['accurate'], diag))
        F.raise_if_any()
    return fn


def tests():
    return [('psnr:%s' % label, _case(label, g, i)) for label, g, i in CLIPS]
