/*
 * job.c - one video to one output directory: open, sample, run each
 * delivered frame through the stages (stage.h: hashes, then encode and the
 * sink), finish the sink, write the manifest, make it all durable.
 *
 * This is the unit of work of both `vidx frames` (vidx_job_run: the files
 * sink) and each video of `vidx run` (vidx__job_run_into: the batch's target,
 * job_internal.h). The sink (sink.h) owns where frames go and durability.
 * Frames are written under scratch names and renamed into place; the manifest
 * is written last, so a manifest never names a missing file. Audio comes from
 * the same read of the input (the sampler's demux loop) into DIR/audio.wav,
 * .flac or .opus. With the scenes setting the same decode also feeds the shot
 * detector (the watch hook, media/watch.h) and DIR/scenes.json is written;
 * with transcribe the audio decoder's 16 kHz mono samples are also gathered
 * and recognised after the decode (DIR/transcript.json, .srt, .vtt).
 *
 * per_scene (K frames of each shot) is the one setting that reads the file
 * twice: the shots are known only once every picture was seen, and by then
 * the frames to take from them are gone (keeping them would hold whole shots
 * of decoded pictures). So a first read decodes every picture for the
 * detector only (pipeline/scenes.c), the chosen frames become presentation
 * indices (analyze/scenes.c), the source is rewound, and the second read is
 * an ordinary indices-mode sampler: the planner decodes only the GOPs that
 * hold chosen frames, and audio and the transcript come from that read.
 */
#include "pipeline/job.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/mem.h>

#include "media/audio.h"
#include "media/sampler_cut.h"
#include "media/source.h"
#include "pipeline/job_settings.h"
#include "pipeline/scenes.h"
#include "store/audio_file.h"
#include "store/fs.h"

_Static_assert(VIDX_PICK_SPREAD == (int)SCENE_PICK_SPREAD &&
                   VIDX_PICK_FIRST == (int)SCENE_PICK_FIRST &&
                   VIDX_PICK_MIDDLE == (int)SCENE_PICK_MIDDLE,
               "the public pick values are the detector's");

/* WebP's format limit (VP8/VP8L store 14-bit sizes). */
#define VIDX_WEBP_MAX_SIDE 16383

/* The stages every delivered frame goes through, in order. */
static const VidxStage *const stages[] = {&vidx__stage_hash, &vidx__stage_encode,
                                          &vidx__stage_label};
#define N_STAGES (sizeof(stages) / sizeof(stages[0]))

int vidx__job_fail(Job *j, int err, const char *what)
{
    if (!strncmp(what, "writing", 7) || !strncmp(what, "creating", 8))
        j->res->output_failed = 1;
    const char *detail = vidx_error_detail(err);
    snprintf(j->res->message, sizeof(j->res->message), "%s: %s%s%s", what, vidx_strerror(err),
             *detail ? ": " : "", detail);
    return err;
}

int vidx__job_add_record(Job *j, const VidxFrame *f, int64_t bytes, const char *name,
                         const char *sha, int64_t dup_of)
{
    VidxJobResult *r = j->res;
    size_t need = r->n_frames + 1, cap_frames = j->cap_frames;
    /* Two parallel arrays, one capacity: it only moves once both grew. */
    if (vidx__grow(&r->frames, &cap_frames, need, sizeof(*r->frames), 32) < 0 ||
        vidx__grow(&j->out->spans, &j->cap_frames, need, sizeof(*j->out->spans), 32) < 0)
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
    if (j->set->md5)
        memcpy(rec->md5, j->md5, sizeof(rec->md5));
    if (sha)
        memcpy(rec->sha256, sha, sizeof(rec->sha256));
    rec->phash = j->phash;
    rec->dup_of = dup_of;
    j->out->spans[r->n_frames] = (TarSpan){-1, 0};
    r->n_frames++;
    return 0;
}

static int audio_sink(void *opaque, const int16_t *samples, int n)
{
    Job *j = opaque;
    int ret = j->audio_error || !j->speech ? 0 : vidx__pcm_push(&j->pcm, samples, n);
    if (ret < 0)
        j->audio_error = ret;
    if (j->audio_error || !j->audio)
        return 0;
    ret = vidx__audio_file_write(j->audio, samples, n);
    if (ret < 0)
        j->audio_error = ret;
    return 0;
}

static const char *audio_ext(const VidxJobSettings *s)
{
    return vidx_audio_format_ext(s->audio);
}

static int open_audio(Job *j, const VidxSource *src, VidxAudioSettings *as)
{
    const VidxJobSettings *s = j->set;
    char path[PATH_MAX];
    memset(as, 0, sizeof(*as));
    if ((!s->audio && !s->transcribe) || !vidx_source_video_info(src)->has_audio)
        return 0;
    snprintf(path, sizeof(path), "%s/.audio.%s.tmp", j->dir, s->audio ? audio_ext(s) : "none");
    int ret = s->audio ? vidx__audio_file_open(&j->audio, path, s->audio, s->audio_rate,
                                               s->audio_channels)
                       : 0;
    if (ret < 0)
        return vidx__job_fail(j, ret, "creating the audio file");
    j->speech = s->transcribe; /* with audio: 16 kHz mono (vidx_job_check_settings) */
    as->enabled = 1;
    as->sample_rate = s->audio ? s->audio_rate : VIDX_ASR_RATE;
    as->channels = s->audio ? s->audio_channels : 1;
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
        return ok ? vidx__job_fail(j, j->audio_error ? j->audio_error : ret, "writing audio") : 0;
    }
    if (rename(tmp, dst) < 0)
        return vidx__job_fail(j, AVERROR(errno), "writing audio");
    r->audio_path = av_strdup(name);
    r->audio_rate = j->set->audio_rate;
    r->audio_channels = j->set->audio_channels;
    return r->audio_path ? 0 : AVERROR(ENOMEM);
}

/* The shot detector with default settings, when asked for. */
static int open_scenes(Job *j)
{
    VidxScenesSettings ss;
    SceneParams p;
    if (!j->set->scenes && !j->set->per_scene)
        return 0;
    vidx_scenes_default_settings(&ss);
    vidx__scenes_params(&ss, &p);
    int ret = vidx__scene_new(&j->scenes, &p);
    return ret < 0 ? vidx__job_fail(j, ret, "starting the shot detector") : 0;
}

/* After the decode: the shot list into the output and DIR/scenes.json. */
static int finish_scenes(Job *j)
{
    char **text = &j->out->scenes_json;
    int ret = vidx__scene_finish(j->scenes);
    if (ret >= 0)
        ret = vidx__scenes_text(j->scenes, j->res->partial, text);
    if (ret < 0)
        return vidx__job_fail(j, ret, "finding shots");
    ret = vidx__write_atomic(j->dir, "scenes.json", *text, strlen(*text), 0);
    return ret < 0 ? vidx__job_fail(j, ret, "writing scenes.json") : 0;
}

/*
 * per_scene: the first read finds the shots, the chosen frames become ss's
 * indices (ss->indices points into j->picked), and the source is rewound for
 * the second read.
 */
static int per_scene_targets(Job *j, VidxSource *src, VidxSamplerSettings *ss)
{
    int64_t n_shots, n;
    int partial = 0;
    int ret = vidx__scenes_detect(src, ss->threads, j->scenes, &partial);
    if (ret < 0)
        return vidx__job_fail(j, ret, "finding shots");
    const SceneShot *shots = vidx__scene_shots(j->scenes, &n_shots);
    ret = vidx__scene_pick(shots, n_shots, j->set->per_scene, (ScenePick)j->set->per_scene_pick,
                           ss->max_frames, &j->picked, &n);
    if (ret == -ERANGE)
        return vidx__job_fail(j,
                              vidx__detail(VIDX_ELIMIT,
                                           "%d frames of each of %lld shots exceed "
                                           "--max-frames (%lld)",
                                           j->set->per_scene, (long long)n_shots,
                                           (long long)ss->max_frames),
                              "planning");
    if (ret < 0)
        return vidx__job_fail(j, ret, "planning");
    if (n == 0)
        return vidx__job_fail(j, VIDX_EDECODE, "finding shots (no picture decoded)");
    j->res->partial |= partial;
    ss->mode = VIDX_MODE_INDICES;
    ss->indices = j->picked;
    ss->n_indices = (size_t)n;
    ret = vidx__source_rewind(src);
    return ret < 0 ? vidx__job_fail(j, ret, "reopening for the second read") : 0;
}

/* Writes DIR/<name> (the text of t in format); text: kept in *keep, else freed. */
static int write_transcript(Job *j, const VidxTranscript *t, int format, const char *name,
                            char **keep)
{
    char *text = NULL;
    int ret = vidx_transcript_format(t, format, &text);
    if (ret >= 0)
        ret = vidx__write_atomic(j->dir, name, text, strlen(text), 0);
    if (ret < 0)
        vidx__job_fail(j, ret, "writing the transcript");
    if (ret >= 0 && keep)
        *keep = text;
    else
        free(text);
    return ret;
}

/* After the decode: the gathered audio recognised, into DIR/transcript.{json,srt,vtt}. */
static int finish_transcript(Job *j)
{
    VidxTranscript *t = NULL;
    int ret = j->audio_error ? j->audio_error : vidx__transcribe_pcm(&t, &j->pcm, j->set->asr);
    if (ret < 0) {
        vidx_transcript_close(&t);
        return vidx__job_fail(j, ret, "transcribing");
    }
    ret = write_transcript(j, t, VIDX_TRANSCRIPT_SRT, "transcript.srt", NULL);
    if (ret >= 0)
        ret = write_transcript(j, t, VIDX_TRANSCRIPT_VTT, "transcript.vtt", NULL);
    if (ret >= 0)
        ret = write_transcript(j, t, VIDX_TRANSCRIPT_JSON, "transcript.json",
                               &j->out->transcript_json);
    vidx_transcript_close(&t);
    return ret;
}

/* Each stage's open (which sets its failure on the result). */
static int stages_open(Job *j)
{
    int ret = 0;
    for (size_t i = 0; i < N_STAGES && ret >= 0; i++)
        ret = stages[i]->open ? stages[i]->open(j) : 0;
    return ret;
}

static int stages_frame(Job *j, const VidxFrame *f)
{
    int ret = 0;
    for (size_t i = 0; i < N_STAGES && ret >= 0; i++)
        ret = stages[i]->frame(j, f);
    return ret;
}

/* Each stage's close, whether or not it opened. */
static void stages_close(Job *j)
{
    for (size_t i = 0; i < N_STAGES; i++)
        if (stages[i]->close)
            stages[i]->close(j);
}

static int sample_all(Job *j, VidxSampler *smp)
{
    const VidxFrame *f;
    int ret = stages_open(j);
    while (ret >= 0 && (ret = vidx_sampler_next(smp, &f)) > 0) {
        if (j->set->cancel && *j->set->cancel)
            return vidx__job_fail(j, VIDX_EINTERRUPTED, "sampling");
        if ((ret = stages_frame(j, f)) < 0)
            return ret;
    }
    return ret < 0 && !j->res->message[0] ? vidx__job_fail(j, ret, "decoding") : ret;
}

/* Why a video is partial: a cut (truncated), a header that lied about the duration, or damage. */
static void partial_message(VidxJobResult *r, const VidxSamplerCut *cut)
{
    const VidxSamplerStats *st = &r->stats;
    if (cut->truncated && cut->declared > 0)
        snprintf(r->message, sizeof(r->message),
                 "truncated: the video breaks off at %.3f s of the %.3f s its header declares: "
                 "%lld targets not delivered, %lld decode errors",
                 cut->ends_at, cut->declared, (long long)st->targets_missed,
                 (long long)st->decode_errors);
    else if (cut->truncated)
        snprintf(r->message, sizeof(r->message),
                 "truncated: reading broke off at %.3f s: %lld targets not delivered, %lld decode "
                 "errors",
                 cut->ends_at, (long long)st->targets_missed, (long long)st->decode_errors);
    else if (st->targets_past_end > 0)
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
    if (!as->enabled) /* without audio there is nothing to take from it */
        return vidx__job_fail(j, VIDX_ENOVIDEO, "opening");
    int ret = vidx__audio_decode_all(src, as, &j->res->stats.decode_errors);
    j->res->partial = j->res->stats.decode_errors > 0;
    return ret < 0 ? vidx__job_fail(j, ret, "decoding audio") : 0;
}

/* After the last frame (ret: the job's code so far): audio, sink end, manifest, durability. */
static int finish_outputs(Job *j, int ret, int stream)
{
    if (j->res->partial && ret >= 0)
        partial_message(j->res, &j->cut);
    if (ret >= 0 && j->scenes)
        ret = finish_scenes(j);
    if (ret >= 0 && j->speech)
        ret = finish_transcript(j);
    if (ret >= 0 && j->labeller)
        ret = vidx__job_finish_labels(j);
    int aret = finish_audio(j, ret >= 0);
    if (ret >= 0)
        ret = aret;
    if (ret >= 0)
        ret = j->target->sink->end(j);
    if (ret >= 0 && j->set->manifest && (ret = vidx__job_write_manifest(j, stream)) < 0)
        vidx__job_fail(j, ret, "writing the manifest");
    if (ret >= 0) /* one flush of what the video wrote, by the sink, not one fsync per file */
        ret = j->target->sink->sync(j);
    return ret;
}

static int run_source(Job *j, const char *url)
{
    VidxSource *src = NULL;
    VidxSampler *smp = NULL;
    VidxAudioSettings as;
    VidxSamplerSettings ss = j->set->sampler;
    VidxWatch w;
    int ret = vidx_source_open(&src, url, &j->set->source);
    if (ret < 0)
        return vidx__job_fail(j, ret, "opening");
    /* The output directory only appears once the input opened. */
    if ((ret = vidx__mkdirs(j->dir)) < 0) {
        vidx__job_fail(j, ret, "creating the output directory");
        goto done;
    }
    vidx__remove_scratch(j->dir);
    if ((ret = vidx_source_probe_json(src, 0, &j->res->probe_json)) < 0) {
        vidx__job_fail(j, ret, "probing");
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
    if ((ret = open_scenes(j)) < 0)
        goto done;
    if (j->set->per_scene && (ret = per_scene_targets(j, src, &ss)) < 0)
        goto done;
    w = vidx__scenes_watch(j->scenes);
    /* per_scene: the shots are known already; the second read only samples */
    if ((ret = vidx__sampler_open_watched(&smp, src, &ss, &as,
                                          j->scenes && !j->picked ? &w : NULL)) < 0) {
        vidx__job_fail(j, ret, "planning");
        goto done;
    }
    ret = sample_all(j, smp);
    snprintf(j->out->device, sizeof(j->out->device), "%s", vidx_sampler_device(smp));
    vidx_sampler_stats(smp, &j->res->stats);
    vidx__sampler_cut(smp, &j->cut);
    j->res->partial |= j->res->stats.partial;
    j->out->truncated = j->res->partial && j->cut.truncated;
finish:
    ret = finish_outputs(j, ret, vidx_source_video_info(src)->stream);
done:;
    int cret = j->target->sink->close(j);
    if (cret < 0 && ret >= 0)
        ret = vidx__job_fail(j, cret, "writing a frame");
    finish_audio(j, 0);
    stages_close(j);
    vidx_sampler_close(&smp);
    vidx__scene_free(&j->scenes);
    free(j->picked);
    free(j->pcm.v);
    vidx_source_close(&src);
    return ret;
}

static int check_transcribe(const VidxJobSettings *s)
{
    if (s->audio && (s->audio_rate != VIDX_ASR_RATE || s->audio_channels != 1))
        return vidx__detail(VIDX_EUSAGE, "transcribing while writing audio needs the audio at "
                                         "16000 Hz mono (--audio-rate, --audio-channels)");
    return vidx__transcribe_check(s->asr);
}

int vidx_job_check_settings(const VidxJobSettings *caller)
{
    VidxJobSettings set;
    const VidxJobSettings *s = &set; /* the caller's, at this library's size */
    const VidxSamplerSettings *ss = &s->sampler;
    int ret = caller ? vidx__abi_import(&vidx__job_layout, &set, caller) : VIDX_EUSAGE;
    if (ret == 0)
        ret = vidx_sampler_check_settings(ss);
    if (ret == 0)
        ret = vidx__audio_check_settings(s);
    if (ret == 0 && s->transcribe)
        ret = check_transcribe(s);
    if (ret == 0 && s->label)
        ret = vidx__label_check(s->label_settings);
    if (ret == 0 && (s->per_scene < 0 || s->per_scene > 1000000 || s->per_scene_pick < 0 ||
                     s->per_scene_pick > VIDX_PICK_MIDDLE))
        ret = vidx__detail(VIDX_EUSAGE, "per_scene is 0-1000000 frames of a shot, "
                                        "per_scene_pick first, middle or spread");
    if (ret == 0 && s->per_scene && ss->approx)
        ret = vidx__detail(VIDX_EUSAGE, "per-scene frames are exact: --approx does not apply");
    if (ret == 0 && s->format == VIDX_IMAGE_WEBP &&
        VIDX_MAX(ss->max_side, VIDX_MAX(ss->width, ss->height)) > VIDX_WEBP_MAX_SIDE)
        ret = vidx__detail(VIDX_EUSAGE, "WebP images are at most %d pixels a side (--size)",
                           VIDX_WEBP_MAX_SIDE);
    return ret;
}

int vidx__job_run_into(const char *url, const char *dir, const VidxJobSettings *s,
                       const JobTarget *target, VidxJobResult *res, JobOutput *out)
{
    VidxJobSettings set; /* s at this library's size */
    Job j = {
        .dir = dir, .set = &set, .target = target, .res = res, .out = out, .kept = -1, .pack = -1};
    double t0 = vidx__now();
    int ret;
    memset(res, 0, sizeof(*res));
    memset(out, 0, sizeof(*out));
    vidx__detail_clear();
    if (!url || !dir || !s || !target)
        return res->status = VIDX_EUSAGE;
    if ((ret = vidx__abi_import(&vidx__job_layout, &set, s)) < 0)
        return res->status = ret;
    j.max_bytes = target->shard ? 0 : set.max_bytes; /* a shard is not scratch */
    if ((ret = vidx_job_check_settings(&set)) < 0)   /* before anything is opened or created */
        vidx__job_fail(&j, ret, "settings");
    else
        ret = run_source(&j, url);
    res->seconds = vidx__now() - t0;
    res->status = ret < 0 ? ret : 0;
    return res->status;
}

int vidx_job_run_on(const char *url, const char *dir, const VidxJobSettings *s, VidxJobResult *res,
                    char *device, size_t device_size)
{
    JobTarget files = {.sink = &vidx__sink_files};
    JobOutput out;
    int ret = vidx__job_run_into(url, dir, s, &files, res, &out);
    if (device && device_size)
        snprintf(device, device_size, "%s", out.device);
    vidx__job_output_clear(&out);
    return ret;
}

int vidx_job_run(const char *url, const char *dir, const VidxJobSettings *s, VidxJobResult *res)
{
    return vidx_job_run_on(url, dir, s, res, NULL, 0);
}

void vidx__job_output_clear(JobOutput *out)
{
    free(out->spans);
    av_free(out->scenes_json);
    free(out->transcript_json);
    free(out->labels_json);
    free(out->renditions_json);
    memset(out, 0, sizeof(*out));
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
