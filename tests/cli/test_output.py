"""Output shape: --size / --fit, display orientation content, formats, quality, threads."""
from checks import check_frames_run
from common import (Failures, corpus_clip, decode_rgb, fail, ffprobe_image_size, fixture, image_kind, image_size,
                    note, psnr, vidx_frames)
from oracle import oracle, reference_rgb


def _one(path, args, ext='jpg'):
    fr = vidx_frames(path, args, md5=False)
    fr.require_ok()
    if not fr.manifest:
        fail('%s: empty manifest' % fr.label())
    return fr


def _size_case(getpath, size_arg, want_long, index=0):
    def fn():
        path = getpath()
        o = oracle(path)
        fr = _one(path, ['--index', str(index), '--size', size_arg])
        l = fr.manifest[0]
        wh = image_size(fr.outdir / l['path'])
        F = Failures(fr.label())
        F.check(wh == (l.get('width'), l.get('height')), 'file %dx%d vs manifest %sx%s' % (
            wh[0], wh[1], l.get('width'), l.get('height')))
        dw, dh = sorted(o.display_size_candidates())[0]
        long_side = max(wh)
        F.check(long_side == want_long, 'longest side %d, expected %d (display %dx%d)' % (long_side, want_long, dw, dh))
        # aspect kept, orientation kept
        if dw >= dh:
            exp_short = dh * want_long / dw
            F.check(wh[0] == want_long and abs(wh[1] - exp_short) <= 1.0,
                    'got %dx%d, expected %dx%.1f (display %dx%d)' % (wh[0], wh[1], want_long, exp_short, dw, dh))
        else:
            exp_short = dw * want_long / dh
            F.check(wh[1] == want_long and abs(wh[0] - exp_short) <= 1.0,
                    'got %dx%d, expected %.1fx%d (display %dx%d)' % (wh[0], wh[1], exp_short, want_long, dw, dh))
        F.raise_if_any()
    return fn


def _box_case(getpath, w, h, fit, index=0):
    def fn():
        path = getpath()
        fr = _one(path, ['--index', str(index), '--size', '%dx%d' % (w, h), '--fit', fit, '--format', 'png'])
        l = fr.manifest[0]
        p = fr.outdir / l['path']
        wh = image_size(p)
        F = Failures(fr.label())
        F.check(wh == (w, h), '--fit %s: got %dx%d, expected %dx%d' % (fit, wh[0], wh[1], w, h))
        F.check((l.get('width'), l.get('height')) == (w, h), 'manifest %sx%s' % (l.get('width'), l.get('height')))
        F.check(ffprobe_image_size(p) == (w, h), 'ffprobe reads %s' % (ffprobe_image_size(p),))
        F.raise_if_any()
    return fn


def tests():
    out = []
    c = lambda n: (lambda: corpus_clip(n))  # noqa: E731
    fx = lambda n: (lambda: fixture(n))  # noqa: E731
    for name, gp, idx in (('psd_testvideo.mp4', c('psd_testvideo.mp4'), 100),
                          ('decord_video_90.mov', c('decord_video_90.mov'), 1),
                          ('torchcodec_nasa_13013.mp4', c('torchcodec_nasa_13013.mp4'), 10),
                          ('fixture/sar.mp4', fx('sar.mp4'), 3),
                          ('fixture/rot270.mp4', fx('rot270.mp4'), 3)):
        out.append(('size320:%s' % name, _size_case(gp, '320', 320, idx)))
    for name, gp, idx in (('psd_testvideo.mp4', c('psd_testvideo.mp4'), 100),
                          ('decord_video_90.mov', c('decord_video_90.mov'), 1),
                          ('fixture/cfr.mp4', fx('cfr.mp4'), 5)):
        for fit in ('crop', 'pad', 'stretch'):
            out.append(('size200x200_%s:%s' % (fit, name), _box_case(gp, 200, 200, fit, idx)))
    out.append(('size300x100_pad:fixture/rot90.mp4', _box_case(fx('rot90.mp4'), 300, 100, 'pad', 5)))
    return out


# --- content of --fit results --------------------------------------------------

def _vidx_png(path, idx, extra, want_pos=False):
    """vidx's PNG of --index idx, decoded; with want_pos also the oracle position of the frame it
    delivered (so picture checks do not depend on index semantics, tested elsewhere)."""
    fr = _one(path, ['--index', str(idx), '--format', 'png'] + extra)
    img = decode_rgb(fr.outdir / fr.manifest[0]['path'])
    if not want_pos:
        return img
    pos = oracle(path).pos_of_pts(fr.manifest[0].get('pts'))
    if pos is None:
        fail('%s: delivered pts %r is not a decoded frame' % (fr.label(), fr.manifest[0].get('pts')))
    return img, pos


def test_fit_content_cfr():
    """cfr.mp4 (320x240) into 300x100: pad = 133x100 picture between black bars; crop = centre 300x100 of
    the 300x225 scale; stretch = 300x100. Compared with FFmpeg's scale/crop/pad (>= 25 dB: geometry check)."""
    path = fixture('cfr.mp4')
    o = oracle(path)
    F = Failures('fit content')
    import numpy as np
    refs = {
        'stretch': reference_rgb(path, o.stream, 5, vf_extra='scale=300:100'),
        'crop': reference_rgb(path, o.stream, 5, vf_extra='scale=300:225,crop=300:100'),
    }
    for fit, ref in refs.items():
        img = _vidx_png(path, 5, ['--size', '300x100', '--fit', fit])
        if img.shape != ref.shape:
            F.add('%s: shape %s, expected %s' % (fit, img.shape, ref.shape))
            continue
        v = psnr(img, ref)
        note('--fit %s vs FFmpeg scale/crop: %.2f dB' % (fit, v))
        F.check(v >= 25.0, '--fit %s: PSNR %.2f dB vs FFmpeg reference < 25' % (fit, v))
    img = _vidx_png(path, 5, ['--size', '300x100', '--fit', 'pad'])
    if img.shape != (100, 300, 3):
        F.add('pad: shape %s' % (img.shape,))
    else:
        left, right, mid = img[:, :70].mean(), img[:, -70:].mean(), img[:, 100:200].mean()
        note('--fit pad bars: left mean %.1f, right mean %.1f, centre mean %.1f' % (left, right, mid))
        F.check(left < 16 and right < 16, 'pad: side bars are not black (means %.1f, %.1f)' % (left, right))
        F.check(mid > 40, 'pad: picture area looks empty (mean %.1f)' % mid)
        ref = reference_rgb(path, o.stream, 5, vf_extra='scale=133:100,pad=300:100:(ow-iw)/2:(oh-ih)/2:black')
        v = psnr(img, ref)
        note('--fit pad vs FFmpeg scale+pad: %.2f dB' % v)
        F.check(v >= 20.0, '--fit pad: PSNR %.2f dB vs FFmpeg reference < 20' % v)
    F.raise_if_any()


def _orientation_case(getpath, idx, min_db=30.0):
    """vidx's display-oriented PNG == FFmpeg's autorotated picture (checks the direction of rotation)."""
    def fn():
        path = getpath()
        o = oracle(path)
        img, pos = _vidx_png(path, idx, [], want_pos=True)
        ref = reference_rgb(path, o.stream, pos, autorotate=True)
        ref2 = reference_rgb(path, o.stream, pos, autorotate=True, flags='accurate_rnd+full_chroma_int')
        if img.shape != ref.shape:
            fail('%s: vidx %dx%d, FFmpeg autorotated %dx%d (rotation %d)' % (
                path.name, img.shape[1], img.shape[0], ref.shape[1], ref.shape[0], o.rotation()))
        v = max(psnr(img, ref), psnr(img, ref2))
        note('%s rotation %d: %.2f dB vs FFmpeg autorotate' % (path.name, o.rotation(), v))
        if v < min_db:
            # tell the lead which orientation it matches instead
            import numpy as np
            alts = {'unrotated': reference_rgb(path, o.stream, pos, autorotate=False,
                                              flags='accurate_rnd+full_chroma_int')}
            msg = []
            for k, a in alts.items():
                for name, arr in (('as is', a), ('rot90cw', np.rot90(a, -1)), ('rot90ccw', np.rot90(a, 1)),
                                  ('rot180', np.rot90(a, 2))):
                    if arr.shape == img.shape:
                        msg.append('%s %s: %.1f dB' % (k, name, psnr(img, np.ascontiguousarray(arr))))
            fail('%s (rotation %d): PSNR %.2f dB vs FFmpeg autorotated frame < %.0f; vidx output matches: %s' % (
                path.name, o.rotation(), v, min_db, ', '.join(msg)))
    return fn


def test_orientation_decord_90():
    _orientation_case(lambda: corpus_clip('decord_video_90.mov'), 1)()


def test_orientation_decord_270():
    _orientation_case(lambda: corpus_clip('decord_video_270.mov'), 1)()


def test_orientation_fire2_180():
    _orientation_case(lambda: corpus_clip('moviepy_fire2.mp4'), 10)()


def test_orientation_fixture_rot90():
    _orientation_case(lambda: fixture('rot90.mp4'), 7)()


def test_orientation_fixture_rot270():
    _orientation_case(lambda: fixture('rot270.mp4'), 7)()


def test_rotated_jpg_dims_by_ffprobe():
    """Display-oriented JPEG files, dimensions as ffprobe reads them from the files."""
    F = Failures('rotated clips')
    for getp, name, want in ((lambda: corpus_clip('decord_video_90.mov'), 'decord_video_90.mov', (320, 568)),
                             (lambda: corpus_clip('decord_video_270.mov'), 'decord_video_270.mov', (320, 568)),
                             (lambda: corpus_clip('decord_video_0.mov'), 'decord_video_0.mov', (568, 320)),
                             (lambda: corpus_clip('moviepy_fire2.mp4'), 'moviepy_fire2.mp4', (1280, 720)),
                             (lambda: corpus_clip('androidx_dolbyVision-hdr.MOV'), 'androidx_dolbyVision-hdr.MOV',
                              (720, 1280)),
                             (lambda: fixture('rot90.mp4'), 'fixture rot90.mp4', (240, 320)),
                             (lambda: fixture('rot270.mp4'), 'fixture rot270.mp4', (240, 320))):
        fr = vidx_frames(getp(), ['--index', '0,1'], md5=False)
        if fr.rc != 0 or not fr.manifest:
            F.add('%s: exit %r\n  %s' % (name, fr.rc, fr.res.describe()))
            continue
        for l in fr.manifest:
            got = ffprobe_image_size(fr.outdir / l['path'])
            F.check(got == want, '%s %s: ffprobe reads %dx%d, expected %dx%d' % (
                name, l['path'], got[0], got[1], want[0], want[1]))
            F.check((l.get('width'), l.get('height')) == want, '%s: manifest %sx%s, expected %dx%d' % (
                name, l.get('width'), l.get('height'), want[0], want[1]))
    F.raise_if_any()


def test_sar_content():
    """sar.mp4 (320x240, SAR 3:2) is widened to 480x240 (FFmpeg scale=480:240 as reference, >= 25 dB)."""
    path = fixture('sar.mp4')
    o = oracle(path)
    img = _vidx_png(path, 3, [])
    ref = reference_rgb(path, o.stream, 3, vf_extra='scale=480:240,setsar=1')
    if img.shape != ref.shape:
        fail('sar.mp4: vidx %s, expected %s' % (img.shape, ref.shape))
    v = psnr(img, ref)
    note('sar.mp4 widened vs FFmpeg scale=480:240: %.2f dB' % v)
    if v < 25.0:
        fail('sar.mp4: PSNR %.2f dB vs FFmpeg scale=480:240 < 25' % v)


# --- formats, quality, threads -------------------------------------------------------

def test_size_box_default_fit():
    """--size WxH without --fit: exactly WxH (documented default: stretch)."""
    path = fixture('cfr.mp4')
    fr = _one(path, ['--index', '3', '--size', '200x120'])
    wh = image_size(fr.outdir / fr.manifest[0]['path'])
    if wh != (200, 120):
        fail('--size 200x120: got %dx%d' % wh)


def test_formats():
    path = fixture('cfr.mp4')
    F = Failures('formats')
    for fmt in ('jpg', 'png', 'webp'):
        fr = vidx_frames(path, ['--index', '0,40', '--format', fmt], md5=False)
        if fr.rc != 0 or not fr.manifest:
            F.add('--format %s: exit %r\n  %s' % (fmt, fr.rc, fr.res.describe()))
            continue
        for l in fr.manifest:
            p = fr.outdir / l['path']
            F.check(p.suffix == '.' + fmt, '--format %s: file %s' % (fmt, l['path']))
            F.check(image_kind(p) == fmt, '--format %s: %s is %s' % (fmt, l['path'], image_kind(p)))
            F.check(image_size(p) == (320, 240), '--format %s: %s is %s' % (fmt, l['path'], image_size(p)))
            F.check(ffprobe_image_size(p) == (320, 240), '--format %s: ffprobe reads %s' % (
                fmt, ffprobe_image_size(p)))
    # default format is jpg
    fr = vidx_frames(path, ['--index', '0'], md5=False)
    if fr.rc == 0 and fr.manifest:
        F.check(fr.manifest[0]['path'].endswith('.jpg'), 'default format: %s' % fr.manifest[0]['path'])
    F.raise_if_any()


def test_quality_changes_jpeg_size():
    path = corpus_clip('psd_testvideo.mp4')
    sizes = {}
    for q in (30, 95):
        fr = _one(path, ['--index', '100,400', '--quality', str(q)])
        sizes[q] = sum(l['bytes'] for l in fr.manifest)
    note('JPEG bytes for 2 frames: q30 %d, q95 %d' % (sizes[30], sizes[95]))
    if not sizes[30] < sizes[95]:
        fail('--quality 30 gave %d bytes, --quality 95 %d: expected smaller' % (sizes[30], sizes[95]))


def test_threads_do_not_change_result():
    path = corpus_clip('psd_testvideo.mp4')
    o = oracle(path)
    res = {}
    for t in ('1', '2'):
        fr = vidx_frames(path, ['--count', '7', '--threads', t])
        check_frames_run(fr, o, {'mode': 'count', 'n': 7})
        res[t] = [(l['pts'], l['md5']) for l in fr.manifest]
    if res['1'] != res['2']:
        fail('--threads 1 and --threads 2 differ: %s vs %s' % (res['1'], res['2']))
