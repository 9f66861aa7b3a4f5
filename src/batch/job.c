/*
 * job.c - one video to one output directory: open, sample, encode, write.
 *
 * This is the unit of work of both `vidx frames` and each video of `vidx run`.
 * Frames are written under scratch names and renamed into place; the manifest
 * is written last, so a manifest never names a missing file. Audio comes from
 * the same read of the input (the sampler's demux loop) into DIR/audio.wav or
 * .flac.
 */
#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "batch/job_settings.h"
#include "media/audio.h"
#include "store/audio_file.h"
#include "store/fs.h"
#include "store/tar.h"

/* WebP's format limit (VP8/VP8L store 14-bit sizes). */
#define VIDX_WEBP_MAX_SIDE 16383

typedef struct Job {
    const char *dir;
    int pack;          /* the archive (tar_key) once opened, else -1 */
    int64_t pack_size; /* where its next sample goes */
    const VidxJobSettings *set;
    VidxJobResult *res;
    VidxAudioFile *audio;
    int audio_error;
    size_t cap_frames;
    int64_t kept;    /* record position of the last kept frame, or -1 */
    int64_t written; /* bytes written so far */
} Job;

static int sha256_hex(const uint8_t *data, size_t size, char out[65])
{
    struct AVSHA *sha = av_sha_alloc();
    uint8_t digest[32];
    if (!sha)
        return AVERROR(ENOMEM);
    av_sha_init(sha, 256);
    av_sha_update(sha, data, size);
    av_sha_final(sha, digest);
    av_free(sha);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    return 0;
}

static int fail(Job *j, int err, const char *what)
{
    if (!strncmp(what, "writing", 7) || !strncmp(what, "creating", 8))
        j->res->output_failed = 1;
    const char *detail = vidx_error_detail(err);
    snprintf(j->res->message, sizeof(j->res->message), "%s: %s%s%s", what, vidx_strerror(err),
             *detail ? ": " : "", detail);
    return err;
}

static int add_record(Job *j, const VidxFrame *f, int64_t bytes, const char *name, const char *md5,
                      const char *sha, uint64_t phash, int64_t dup_of)
{
    VidxJobResult *r = j->res;
    if (vidx__grow(&r->frames, &j->cap_frames, r->n_frames + 1, sizeof(*r->frames), 32) < 0)
        return AVERROR(ENOMEM);
    VidxFrameRecord *rec = &r->frames[r->n_frames];
    memset(rec, 0, sizeof(*rec));
    rec->index = f->index;
    rec->target = f->target;
    rec->time = f->time;
    rec->pts = f->pts;
    rec->keyframe = f->keyframe;
    rec->approx = f->approx;
    rec->width = f->width;
    rec->height = f->height;
    rec->bytes = bytes;
    if (name && !(rec->path = av_strdup(name)))
        return AVERROR(ENOMEM);
    if (md5)
        memcpy(rec->md5, md5, sizeof(rec->md5));
    if (sha)
        memcpy(rec->sha256, sha, sizeof(rec->sha256));
    rec->phash = phash;
    rec->dup_of = dup_of;
    rec->tar_offset = -1;
    r->n_frames++;
    return 0;
}

/* A near-duplicate of the last kept frame (--dedup): recorded, not written. */
static int is_duplicate(const Job *j, uint64_t phash)
{
    if (j->set->dedup < 0 || j->kept < 0)
        return 0;
    return vidx_phash_distance(phash, j->res->frames[j->kept].phash) <= j->set->dedup;
}

static int notify(Job *j)
{
    const VidxJobSettings *s = j->set;
    if (s->on_frame)
        return s->on_frame(s->opaque, &j->res->frames[j->res->n_frames - 1]);
    return 0;
}

/* The archive samples go to (tar_key): opened once, at the first frame. */
static int open_pack(Job *j)
{
    const VidxJobSettings *s = j->set;
    char path[PATH_MAX];
    if (j->pack >= 0)
        return 0;
    if (s->tar_start < 0 || s->tar_start % VIDX_TAR_BLOCK)
        return VIDX_EUSAGE;
    snprintf(path, sizeof(path), "%s/%s", j->dir, VIDX_TAR_PACK);
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (s->tar_path ? 0 : O_TRUNC);
    if ((j->pack = open(s->tar_path ? s->tar_path : path, flags, 0644)) < 0)
        return -errno;
    j->pack_size = s->tar_path ? s->tar_start : 0;
    return 0;
}

/*
 * With tar_key: appends the newest record's frame to the archive as a sample.
 * The same frame delivered again for the next target (a rate above the
 * video's) is the same sample: one member name, written once.
 */
static int pack_frame(Job *j, VidxFrameRecord *r, const uint8_t *data)
{
    const VidxFrameRecord *last = j->kept >= 0 ? &j->res->frames[j->kept] : NULL;
    if (last && last->tar_offset >= 0 && !strcmp(last->path, r->path)) {
        r->tar_offset = last->tar_offset;
        r->tar_size = last->tar_size;
        return 0;
    }
    size_t len;
    const char *ext = vidx_image_extension(j->set->format);
    char *sample = vidx__tar_sample(j->set->tar_key, r, ext, data, &len);
    if (!sample)
        return AVERROR(ENOMEM);
    int ret = open_pack(j);
    if (ret == 0)
        ret = vidx__pwrite_all(j->pack, sample, len, j->pack_size);
    free(sample);
    if (ret < 0)
        return ret;
    r->tar_offset = j->pack_size;
    r->tar_size = (int64_t)len;
    j->pack_size += (int64_t)len;
    j->res->tar_samples++;
    j->written += (int64_t)len;
    return 0;
}

/* Ends the archive after the samples (tar_key): end blocks, nothing after them. */
static int end_pack(Job *j)
{
    int ret = open_pack(j);
    if (ret == 0)
        ret = vidx__tar_end_at(j->pack, j->pack_size);
    if (ret == 0 && j->set->durable && fsync(j->pack) < 0)
        ret = -errno;
    j->res->tar_end = j->pack_size;
    return ret;
}

/* Writes the newest record's frame: a file of its own, or a sample in the pack. */
static int put_frame(Job *j, const uint8_t *data, size_t size)
{
    VidxFrameRecord *r = &j->res->frames[j->res->n_frames - 1];
    if (j->set->tar_key)
        return pack_frame(j, r, data);
    int ret = vidx__write_atomic(j->dir, r->path, data, size, 0);
    if (ret == 0)
        j->written += (int64_t)size;
    return ret;
}

static int write_frame(Job *j, const VidxFrame *f)
{
    const VidxJobSettings *s = j->set;
    uint8_t *data = NULL;
    size_t size = 0;
    char name[96], md5[33] = "", sha[65] = "";
    uint64_t phash = vidx_frame_phash(f);
    int ret;
    if (s->md5 && (ret = vidx_frame_md5(f, md5)) < 0)
        return fail(j, ret, "hashing a frame");
    if (is_duplicate(j, phash)) {
        ret = add_record(j, f, 0, NULL, s->md5 ? md5 : NULL, NULL, phash, j->kept);
        return ret < 0 ? fail(j, ret, "recording a frame") : notify(j);
    }
    if ((ret = vidx_image_encode(f, s->format, s->quality, &data, &size)) < 0)
        return fail(j, ret, "encoding a frame");
    snprintf(name, sizeof(name), "%06lld_%lldms.%s", (long long)f->index,
             (long long)llround(f->time * 1000.0), vidx_image_extension(s->format));
    ret = sha256_hex(data, size, sha);
    if (ret >= 0 && s->max_bytes > 0 && j->written + (int64_t)size > s->max_bytes)
        ret = vidx__detail(VIDX_ELIMIT,
                           "the frames pass this video's share of --max-scratch (%lld bytes)",
                           (long long)s->max_bytes);
    if (ret >= 0)
        ret = add_record(j, f, (int64_t)size, name, s->md5 ? md5 : NULL, sha, phash, -1);
    if (ret >= 0)
        ret = put_frame(j, data, size);
    vidx_free(data);
    if (ret < 0)
        return fail(j, ret, "writing a frame");
    vidx__fault("frame");
    j->kept = (int64_t)j->res->n_frames - 1;
    return notify(j);
}

static json_t *record_json(const VidxFrameRecord *r, int stream, int with_md5)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "index", json_integer(r->index));
    json_object_set_new(o, "stream", json_integer(stream));
    json_object_set_new(o, "target", isnan(r->target) ? json_null() : json_real(r->target));
    json_object_set_new(o, "time", json_real(r->time));
    json_object_set_new(o, "pts", json_integer(r->pts));
    json_object_set_new(o, "keyframe", json_boolean(r->keyframe));
    json_object_set_new(o, "width", json_integer(r->width));
    json_object_set_new(o, "height", json_integer(r->height));
    json_object_set_new(o, "bytes", json_integer(r->bytes));
    json_object_set_new(o, "path", r->path ? json_string(r->path) : json_null());
    json_object_set_new(o, "approx", json_boolean(r->approx));
    if (r->dup_of >= 0)
        json_object_set_new(o, "dup_of", json_integer(r->dup_of));
    if (with_md5)
        json_object_set_new(o, "md5", json_string(r->md5));
    return o;
}

static int write_manifest(Job *j, int stream)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int ret = 0;
    if (!mem)
        return AVERROR(ENOMEM);
    for (size_t i = 0; i < j->res->n_frames && ret == 0; i++) {
        json_t *o = record_json(&j->res->frames[i], stream, j->set->md5);
        char *line = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
        if (!line || fprintf(mem, "%s\n", line) < 0)
            ret = AVERROR(ENOMEM);
        free(line);
        json_decref(o);
    }
    if (fclose(mem) != 0 && ret == 0)
        ret = AVERROR(ENOMEM);
    if (ret == 0)
        ret = vidx__write_atomic(j->dir, "manifest.jsonl", text ? text : "", len, 0);
    free(text);
    return ret;
}

static int audio_sink(void *opaque, const int16_t *samples, int n)
{
    Job *j = opaque;
    if (j->audio_error)
        return 0;
    int ret = vidx__audio_file_write(j->audio, samples, n);
    if (ret < 0)
        j->audio_error = ret;
    return 0;
}

static const char *audio_ext(const VidxJobSettings *s)
{
    return s->audio == 2 ? "flac" : "wav";
}

static int open_audio(Job *j, const VidxSource *src, VidxAudioSettings *as)
{
    const VidxJobSettings *s = j->set;
    char path[PATH_MAX];
    memset(as, 0, sizeof(*as));
    if (!s->audio || !vidx_source_video_info(src)->has_audio)
        return 0;
    snprintf(path, sizeof(path), "%s/.audio.%s.tmp", j->dir, audio_ext(s));
    int ret =
        vidx__audio_file_open(&j->audio, path, s->audio == 2, s->audio_rate, s->audio_channels);
    if (ret < 0)
        return fail(j, ret, "creating the audio file");
    as->enabled = 1;
    as->sample_rate = s->audio_rate;
    as->channels = s->audio_channels;
    as->callback = audio_sink;
    as->opaque = j;
    return 0;
}

static int finish_audio(Job *j, int ok)
{
    char tmp[PATH_MAX], dst[PATH_MAX], name[32];
    VidxJobResult *r = j->res;
    if (!j->audio)
        return 0;
    int ret = vidx__audio_file_close(&j->audio, ok && !j->audio_error, &r->audio_duration);
    snprintf(name, sizeof(name), "audio.%s", audio_ext(j->set));
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", j->dir, name);
    snprintf(dst, sizeof(dst), "%s/%s", j->dir, name);
    if (!ok || j->audio_error || ret < 0) {
        remove(tmp);
        return ok ? fail(j, j->audio_error ? j->audio_error : ret, "writing audio") : 0;
    }
    if (rename(tmp, dst) < 0)
        return fail(j, AVERROR(errno), "writing audio");
    r->audio_path = av_strdup(name);
    r->audio_rate = j->set->audio_rate;
    r->audio_channels = j->set->audio_channels;
    return r->audio_path ? 0 : AVERROR(ENOMEM);
}

static int sample_all(Job *j, VidxSampler *smp)
{
    const VidxFrame *f;
    int ret;
    while ((ret = vidx_sampler_next(smp, &f)) > 0) {
        if (j->set->cancel && *j->set->cancel)
            return fail(j, VIDX_EINTERRUPTED, "sampling");
        if ((ret = write_frame(j, f)) < 0)
            return ret;
    }
    return ret < 0 ? fail(j, ret, "decoding") : 0;
}

/* Why a video is partial: a header that lied about the duration, or damage. */
static void partial_message(VidxJobResult *r)
{
    const VidxSamplerStats *st = &r->stats;
    if (st->targets_past_end > 0)
        snprintf(r->message, sizeof(r->message),
                 "the file declares a duration of %.3f s but its video ends at %.3f s: %lld "
                 "targets past the end not delivered (the last frame once)",
                 st->declared_duration, st->content_duration, (long long)st->targets_past_end);
    else
        snprintf(r->message, sizeof(r->message),
                 "damaged input: %lld decode errors, %lld targets not delivered",
                 (long long)st->decode_errors, (long long)st->targets_missed);
}

/* A source without video: its audio is the whole output (no frames). */
static int audio_only(Job *j, VidxSource *src, const VidxAudioSettings *as)
{
    if (!j->audio) /* without audio there is nothing to take from it */
        return fail(j, VIDX_ENOVIDEO, "opening");
    int ret = vidx__audio_decode_all(src, as, &j->res->stats.decode_errors);
    j->res->partial = j->res->stats.decode_errors > 0;
    return ret < 0 ? fail(j, ret, "decoding audio") : 0;
}

static int run_source(Job *j, const char *url)
{
    VidxSource *src = NULL;
    VidxSampler *smp = NULL;
    VidxAudioSettings as;
    VidxSamplerSettings ss = j->set->sampler;
    int ret = vidx_source_open(&src, url, &j->set->source);
    if (ret < 0)
        return fail(j, ret, "opening");
    /* The output directory only appears once the input opened. */
    if ((ret = vidx__mkdirs(j->dir)) < 0) {
        fail(j, ret, "creating the output directory");
        goto done;
    }
    vidx__remove_scratch(j->dir);
    if ((ret = vidx_source_probe_json(src, 0, &j->res->probe_json)) < 0) {
        fail(j, ret, "probing");
        goto done;
    }
    if (j->set->on_start)
        j->set->on_start(j->set->opaque, vidx_source_video_info(src));
    if ((ret = open_audio(j, src, &as)) < 0)
        goto done;
    if (vidx_source_video_info(src)->stream < 0) { /* an audio-only file (source.audio_only) */
        ret = audio_only(j, src, &as);
        goto finish;
    }
    ss.pixel = vidx_image_pixel(j->set->format);
    if ((ret = vidx_sampler_open2(&smp, src, &ss, &as)) < 0) {
        fail(j, ret, "planning");
        goto done;
    }
    ret = sample_all(j, smp);
    vidx_sampler_stats(smp, &j->res->stats);
    j->res->partial = j->res->stats.partial;
finish:
    if (j->res->partial && ret >= 0)
        partial_message(j->res);
    int aret = finish_audio(j, ret >= 0);
    if (ret >= 0)
        ret = aret;
    if (ret >= 0 && j->set->tar_key && (ret = end_pack(j)) < 0)
        fail(j, ret, "writing a frame");
    if (ret >= 0 && j->set->manifest &&
        (ret = write_manifest(j, vidx_source_video_info(src)->stream)) < 0)
        fail(j, ret, "writing the manifest");
    /* One flush of the filesystem per video, not one fsync per file. */
    if (ret >= 0 && j->set->durable && (ret = vidx__sync_dir_fs(j->dir)) < 0)
        fail(j, ret, "writing (sync)");
done:
    if (j->pack >= 0 && close(j->pack) < 0 && ret >= 0)
        ret = fail(j, -errno, "writing a frame");
    j->pack = -1;
    finish_audio(j, 0);
    vidx_sampler_close(&smp);
    vidx_source_close(&src);
    return ret;
}

int vidx_job_check_settings(const VidxJobSettings *caller)
{
    VidxJobSettings set;
    const VidxJobSettings *s = &set; /* the caller's, at this library's size */
    const VidxSamplerSettings *ss = &s->sampler;
    int ret = caller ? vidx__abi_import(&vidx__job_layout, &set, caller) : VIDX_EUSAGE;
    if (ret == 0)
        ret = vidx_sampler_check_settings(ss);
    if (ret == 0 && s->format == VIDX_IMAGE_WEBP &&
        VIDX_MAX(ss->max_side, VIDX_MAX(ss->width, ss->height)) > VIDX_WEBP_MAX_SIDE)
        ret = vidx__detail(VIDX_EUSAGE, "WebP images are at most %d pixels a side (--size)",
                           VIDX_WEBP_MAX_SIDE);
    return ret;
}

int vidx_job_run(const char *url, const char *dir, const VidxJobSettings *s, VidxJobResult *res)
{
    VidxJobSettings set; /* s at this library's size */
    Job j = {.dir = dir, .set = &set, .res = res, .kept = -1, .pack = -1};
    double t0 = vidx__now();
    int ret;
    memset(res, 0, sizeof(*res));
    vidx__detail_clear();
    if (!url || !dir || !s)
        return res->status = VIDX_EUSAGE;
    if ((ret = vidx__abi_import(&vidx__job_layout, &set, s)) < 0 ||
        (ret = vidx_job_check_settings(&set)) < 0) /* before anything is opened or created */
        fail(&j, ret, "settings");
    else
        ret = run_source(&j, url);
    res->seconds = vidx__now() - t0;
    res->status = ret < 0 ? ret : 0;
    return res->status;
}

void vidx_job_result_clear(VidxJobResult *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_frames; i++)
        av_free(r->frames[i].path);
    free(r->frames);
    av_free(r->probe_json);
    av_free(r->audio_path);
    memset(r, 0, sizeof(*r));
}
