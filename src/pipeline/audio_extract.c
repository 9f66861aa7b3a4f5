/*
 * audio_extract.c - one file's audio to one audio file (vidx_audio_extract,
 * `vidx audio`), and the checks of the audio settings that jobs share.
 *
 * The output is written under a scratch name beside it and renamed into
 * place, so a reader never sees half a file and a failure leaves nothing.
 * An existing file at the output path is replaced only when vidx wrote it
 * (it carries vidx's tag, store/audio_file.h) or the caller forces it.
 */
#include "pipeline/job_settings.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/mem.h>

#include "media/audio.h"
#include "media/source.h"
#include "store/audio_file.h"

int vidx__audio_check_settings(const VidxJobSettings *s)
{
    if (s->audio != VIDX_AUDIO_NONE && !vidx_audio_format_ext(s->audio))
        return vidx__detail(VIDX_EUSAGE, "unknown audio format %d", s->audio);
    if (s->audio == VIDX_AUDIO_OPUS && !vidx__audio_opus_rate_ok(s->audio_rate))
        return vidx__detail(VIDX_EUSAGE,
                            "Opus takes 8000, 12000, 16000, 24000 or 48000 Hz, not %d (--rate)",
                            s->audio_rate);
    return 0;
}

static int fail(VidxJobResult *r, int err, const char *what, int output)
{
    const char *detail = vidx_error_detail(err);
    r->output_failed = output;
    snprintf(r->message, sizeof(r->message), "%s: %s%s%s", what, vidx_strerror(err),
             *detail ? ": " : "", detail);
    return r->status = err;
}

/* May out_path be written? Missing, or a regular file of vidx's (or any with force). */
static int check_target(const char *out_path, unsigned flags, VidxJobResult *r)
{
    struct stat st;
    if (lstat(out_path, &st) < 0)
        return errno == ENOENT ? 0 : fail(r, AVERROR(errno), "checking the output", 1);
    if (!S_ISREG(st.st_mode))
        return fail(r, vidx__detail(VIDX_EUSAGE, "the output exists and is not a regular file"),
                    "checking the output", 0);
    if (!(flags & VIDX_AUDIO_FORCE) && !vidx__audio_file_is_ours(out_path))
        return fail(r,
                    vidx__detail(VIDX_ENOTOURS, "the output exists and vidx did not write it "
                                                "(--force replaces it)"),
                    "checking the output", 0);
    return 0;
}

static int sink(void *opaque, const int16_t *samples, int n)
{
    return vidx__audio_file_write(opaque, samples, n);
}

/* Decodes src's audio into the scratch file tmp; fills r's audio fields. */
static int write_audio(VidxSource *src, const char *tmp, const VidxJobSettings *s, VidxJobResult *r)
{
    VidxAudioFile *f = NULL;
    int ret = vidx__audio_file_open(&f, tmp, s->audio, s->audio_rate, s->audio_channels);
    if (ret < 0)
        return fail(r, ret, "creating the audio file", 1);
    VidxAudioSettings as = {1, s->audio_rate, s->audio_channels, sink, f};
    ret = vidx__audio_decode_all(src, &as, &r->stats.decode_errors);
    int cret = vidx__audio_file_close(&f, ret >= 0, &r->audio_duration);
    if (ret < 0)
        return fail(r, ret, "decoding audio", 0);
    if (cret < 0)
        return fail(r, cret, "writing audio", 1);
    r->partial = r->stats.decode_errors > 0;
    r->audio_rate = s->audio_rate;
    r->audio_channels = s->audio_channels;
    return 0;
}

static int extract(const char *url, const char *out_path, const VidxJobSettings *s,
                   VidxJobResult *r)
{
    VidxSource *src = NULL;
    VidxSourceSettings ss = s->source;
    char tmp[PATH_MAX];
    const char *slash = strrchr(out_path, '/');
    int dir_len = slash ? (int)(slash - out_path) + 1 : 0;
    ss.audio_only = 1; /* audio files too; a video's picture is never decoded */
    int ret = vidx_source_open(&src, url, &ss);
    if (ret < 0)
        return fail(r, ret, "opening", 0);
    if (!vidx_source_video_info(src)->has_audio) {
        vidx_source_close(&src);
        return fail(r, vidx__detail(VIDX_EFORMAT, "the file has no audio stream"), "opening", 0);
    }
    if (snprintf(tmp, sizeof(tmp), "%.*s.%s.vidx-%ld.tmp", dir_len, out_path, out_path + dir_len,
                 (long)getpid()) >= (int)sizeof(tmp)) {
        vidx_source_close(&src);
        return fail(r, AVERROR(ENAMETOOLONG), "creating the audio file", 1);
    }
    ret = write_audio(src, tmp, s, r);
    vidx_source_close(&src);
    if (ret >= 0 && rename(tmp, out_path) < 0)
        ret = fail(r, AVERROR(errno), "writing audio", 1);
    if (ret < 0)
        remove(tmp);
    else if (!(r->audio_path = av_strdup(out_path)))
        ret = AVERROR(ENOMEM);
    return ret;
}

int vidx_audio_extract(const char *url, const char *out_path, const VidxJobSettings *caller,
                       unsigned flags, VidxJobResult *r)
{
    VidxJobSettings s;
    double t0 = vidx__now();
    int ret;
    if (!r)
        return VIDX_EUSAGE;
    memset(r, 0, sizeof(*r));
    vidx__detail_clear();
    if (!url || !out_path || !*out_path || !caller)
        return r->status = VIDX_EUSAGE;
    if ((ret = vidx__abi_import(&vidx__job_layout, &s, caller)) < 0)
        return r->status = ret;
    if (s.audio == VIDX_AUDIO_NONE)
        s.audio = VIDX_AUDIO_WAV;
    if ((ret = vidx__audio_check_settings(&s)) < 0)
        return fail(r, ret, "settings", 0);
    if ((ret = check_target(out_path, flags, r)) >= 0)
        ret = extract(url, out_path, &s, r);
    r->seconds = vidx__now() - t0;
    return r->status = ret < 0 ? ret : 0;
}
