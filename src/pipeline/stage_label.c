/*
 * stage_label.c - the per-frame stage that labels frames through a model
 * endpoint (VidxJobSettings.label, label/label.h): after the encode stage has
 * recorded a frame, a kept one (not a near-duplicate) is scaled to fit the
 * label settings' max_side (swscale, area averaging), JPEG-encoded and handed
 * to the labeller, whose threads send it while the decode goes on. After the
 * last frame the job waits for the answers (vidx__job_finish_labels) and
 * writes DIR/labels.json. Also VidxLabelSettings' defaults, ABI layout and
 * checks.
 */
#include "pipeline/job.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "core/abi.h"
#include "label/label.h"
#include "store/fs.h"

_Static_assert(sizeof(VidxLabelSettings) <= VIDX_ABI_MAX_SIZE, "see core/abi.h");

static void label_defaults(void *p)
{
    VidxLabelSettings *s = p;
    memset(s, 0, sizeof(*s));
    s->struct_size = sizeof(*s);
    s->timeout = 60;
    s->retries = 3;
    s->concurrency = 4;
    s->max_side = 512;
    s->quality = 85;
}

static const VidxAbiLayout label_layout = {"VidxLabelSettings",
                                           sizeof(VidxLabelSettings),
                                           alignof(VidxLabelSettings),
                                           label_defaults,
                                           0,
                                           {NULL}};

int vidx_label_settings_init(VidxLabelSettings *s, size_t size)
{
    return vidx__abi_init(&label_layout, s, size);
}

const char *vidx_label_default_prompt(void)
{
    return vidx__label_default_prompt;
}

int vidx__label_check(const VidxLabelSettings *caller)
{
    VidxLabelSettings s;
    int ret = caller ? vidx__abi_import(&label_layout, &s, caller) : VIDX_EUSAGE;
    if (ret < 0)
        return vidx__detail(VIDX_EUSAGE, "labelling needs its settings (the endpoint's URL)");
    if (!s.url || (strncmp(s.url, "http://", 7) && strncmp(s.url, "https://", 8)))
        return vidx__detail(VIDX_EUSAGE, "the label endpoint must be an http:// or https:// URL");
    if (s.concurrency < 1 || s.concurrency > 64)
        return vidx__detail(VIDX_EUSAGE, "label concurrency must be 1 to 64");
    if (s.max_side < 16 || s.max_side > 4096)
        return vidx__detail(VIDX_EUSAGE, "the label image size must be 16 to 4096 pixels");
    if (s.quality < 1 || s.quality > 100)
        return vidx__detail(VIDX_EUSAGE, "the label image quality must be 1 to 100");
    if (!(s.timeout > 0 && s.timeout <= 86400) || s.retries < 0 || s.retries > 100)
        return vidx__detail(VIDX_EUSAGE,
                            "the label timeout must be 0-86400 s and the retries 0-100");
    return 0;
}

/* ---- the image sent: f scaled to fit max_side, as 4:2:0 full-range JPEG ---- */

static enum AVPixelFormat source_format(const VidxFrame *f, int *full)
{
    *full = 1;
    if (f->pixel == VIDX_PIXEL_YUV420_JPEG)
        return AV_PIX_FMT_YUV420P;
    if (f->pixel == VIDX_PIXEL_RGB24)
        return AV_PIX_FMT_RGB24;
    *full = 0; /* native planes: as decoded (limited range is the usual) */
    return f->native_format ? av_get_pix_fmt(f->native_format) : AV_PIX_FMT_NONE;
}

static int fit_jpeg(const VidxFrame *f, int max_side, int quality, uint8_t **out, size_t *size)
{
    int full, side = VIDX_MAX(f->width, f->height);
    enum AVPixelFormat src = source_format(f, &full);
    if (src == AV_PIX_FMT_NONE || f->width < 1 || f->height < 1)
        return vidx__detail(VIDX_EUSAGE, "a frame in a pixel format labelling cannot read");
    if (f->pixel == VIDX_PIXEL_YUV420_JPEG && side <= max_side)
        return vidx_image_encode(f, VIDX_IMAGE_JPEG, quality, out, size);
    double k = side > max_side ? (double)max_side / side : 1.0;
    int w = VIDX_MAX(2, (int)(f->width * k) & ~1), h = VIDX_MAX(2, (int)(f->height * k) & ~1);
    struct SwsContext *sws = sws_getContext(f->width, f->height, src, w, h, AV_PIX_FMT_YUV420P,
                                            SWS_AREA, NULL, NULL, NULL);
    uint8_t *data[4] = {0};
    int linesize[4], ret = sws ? av_image_alloc(data, linesize, w, h, AV_PIX_FMT_YUV420P, 32) : -1;
    if (ret >= 0) {
        const int *coef = sws_getCoefficients(SWS_CS_ITU601);
        sws_setColorspaceDetails(sws, coef, full, coef, 1, 0, 1 << 16, 1 << 16);
        sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, data, linesize);
        VidxFrame small = *f;
        small.width = w, small.height = h, small.pixel = VIDX_PIXEL_YUV420_JPEG, small.nplanes = 3;
        for (int i = 0; i < 4; i++)
            small.data[i] = data[i], small.linesize[i] = linesize[i];
        ret = vidx_image_encode(&small, VIDX_IMAGE_JPEG, quality, out, size);
    } else
        ret = -ENOMEM;
    av_freep(&data[0]);
    sws_freeContext(sws);
    return ret;
}

/* ---- the stage ---- */

static const VidxLabelSettings *settings(const Job *j)
{
    return j->set->label_settings;
}

static int label_open(Job *j)
{
    if (!j->set->label)
        return 0;
    const VidxLabelSettings *s = settings(j);
    LabelConfig cfg = {s->url,     s->prompt,  s->model,      s->key_env,
                       s->timeout, s->retries, s->concurrency};
    int ret = vidx__label_open(&j->labeller, &cfg);
    return ret < 0 ? vidx__job_fail(j, ret, "starting the labeller") : 0;
}

static int label_frame(Job *j, const VidxFrame *f)
{
    if (!j->labeller || !j->res->n_frames)
        return 0;
    int64_t seq = (int64_t)j->res->n_frames - 1;
    if (j->res->frames[seq].dup_of >= 0) /* a near-duplicate: not written, not labelled */
        return 0;
    uint8_t *jpeg = NULL;
    size_t size = 0;
    int ret = fit_jpeg(f, settings(j)->max_side, settings(j)->quality, &jpeg, &size);
    if (ret >= 0)
        ret = vidx__label_submit(j->labeller, seq, jpeg, size);
    vidx_free(jpeg);
    return ret < 0 ? vidx__job_fail(j, ret, "labelling a frame") : 0;
}

static void label_close(Job *j)
{
    vidx__label_close(&j->labeller);
}

const VidxStage vidx__stage_label = {"label", label_open, label_frame, label_close};

/* ---- after the last frame: labels.json ---- */

static json_t *label_json(const Job *j, const LabelResult *r)
{
    const VidxFrameRecord *rec = &j->res->frames[r->frame];
    json_t *o = json_pack("{s:I, s:I, s:f, s:s?, s:s, s:f}", "frame", (json_int_t)r->frame, "index",
                          (json_int_t)rec->index, "time", rec->time, "file", rec->path, "model",
                          r->model, "latency", r->latency);
    if (o && r->error)
        json_object_set_new(o, "error", json_string(r->error));
    else if (o) {
        json_object_set_new(o, "caption", json_string(r->caption));
        json_object_set_new(o, "tags", json_loads(r->tags, 0, NULL));
    }
    return o;
}

int vidx__job_finish_labels(Job *j)
{
    LabelResult *res = NULL;
    size_t n = 0;
    int ret = vidx__label_finish(j->labeller, &res, &n);
    if (ret < 0)
        return vidx__job_fail(j, ret, "labelling");
    json_t *arr = json_array(), *root = json_pack("{s:o}", "labels", arr);
    for (size_t i = 0; root && i < n; i++)
        if (json_array_append_new(arr, label_json(j, &res[i])) < 0)
            ret = -ENOMEM;
    vidx__label_results_free(res, n);
    free(res);
    char *text = root && ret == 0 ? json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(root);
    if (!text)
        return vidx__job_fail(j, -ENOMEM, "labelling");
    ret = vidx__write_atomic(j->dir, "labels.json", text, strlen(text), 0);
    if (ret < 0) {
        free(text);
        return vidx__job_fail(j, ret, "writing labels.json");
    }
    j->out->labels_json = text;
    return 0;
}
