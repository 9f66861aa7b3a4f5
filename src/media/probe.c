/*
 * probe.c - "what is in this file" as one JSON object (vidx probe).
 *
 * Everything comes from the container and codec headers, except the exact
 * frame count, which reads every packet of the selected stream (no decoding).
 * Field meanings are documented in docs/CLI.md.
 */
#include "media/shown.h"
#include "media/source.h"

#include <errno.h>
#include <string.h>

#include <jansson.h>
#include <libavcodec/avcodec.h>
#include <libavutil/pixdesc.h>

static json_t *real_or_null(double v)
{
    return v >= 0 && v == v ? json_real(v) : json_null();
}

static json_t *ts_json(int64_t ts, AVRational tb)
{
    return ts == AV_NOPTS_VALUE ? json_null() : json_real(ts * av_q2d(tb));
}

static json_t *rate_json(AVRational r)
{
    return r.num > 0 && r.den > 0 ? json_real(av_q2d(r)) : json_null();
}

/* Variable frame rate: the average differs from the nominal rate by more than 0.1%. */
static int is_vfr(const AVStream *st)
{
    AVRational r = st->r_frame_rate, a = st->avg_frame_rate;
    if (r.num <= 0 || r.den <= 0 || a.num <= 0 || a.den <= 0)
        return 0;
    double dr = av_q2d(r), da = av_q2d(a);
    return fabs(dr - da) > 0.001 * dr;
}

static void add_video_fields(json_t *o, const VidxSource *src, const AVStream *st)
{
    const AVCodecParameters *par = st->codecpar;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(par->format);
    AVRational sar = av_guess_sample_aspect_ratio(src->fmt, (AVStream *)st, NULL);
    char buf[64];
    json_object_set_new(o, "pix_fmt", d ? json_string(d->name) : json_null());
    json_object_set_new(o, "bit_depth", d ? json_integer(d->comp[0].depth) : json_null());
    json_object_set_new(o, "coded_width", json_integer(par->width));
    json_object_set_new(o, "coded_height", json_integer(par->height));
    snprintf(buf, sizeof(buf), "%d:%d", sar.num > 0 ? sar.num : 1, sar.num > 0 ? sar.den : 1);
    json_object_set_new(o, "sample_aspect_ratio", json_string(buf));
    if (st == src->video) {
        json_object_set_new(o, "rotation", json_integer(src->info.rotation));
        json_object_set_new(o, "display_width", json_integer(src->info.display_width));
        json_object_set_new(o, "display_height", json_integer(src->info.display_height));
    }
    json_object_set_new(o, "r_frame_rate", rate_json(st->r_frame_rate));
    json_object_set_new(o, "avg_frame_rate", rate_json(st->avg_frame_rate));
    json_object_set_new(o, "vfr", json_boolean(is_vfr(st)));
    json_object_set_new(o, "frames", st->nb_frames > 0 ? json_integer(st->nb_frames) : json_null());
    json_object_set_new(o, "frames_exact", json_false());
    const char *range = av_color_range_name(par->color_range);
    const char *space = av_color_space_name(par->color_space);
    json_object_set_new(o, "color_range", range ? json_string(range) : json_null());
    json_object_set_new(o, "color_space", space ? json_string(space) : json_null());
}

static void add_audio_fields(json_t *o, const AVStream *st)
{
    const AVCodecParameters *par = st->codecpar;
    char layout[128] = "";
    json_object_set_new(o, "sample_rate", json_integer(par->sample_rate));
    json_object_set_new(o, "channels", json_integer(par->ch_layout.nb_channels));
    if (av_channel_layout_describe(&par->ch_layout, layout, sizeof(layout)) < 0)
        layout[0] = 0;
    json_object_set_new(o, "channel_layout", layout[0] ? json_string(layout) : json_null());
}

static json_t *stream_json(const VidxSource *src, const AVStream *st)
{
    const AVCodecParameters *par = st->codecpar;
    const char *type = av_get_media_type_string(par->codec_type);
    const char *profile = avcodec_profile_name(par->codec_id, par->profile);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "index", json_integer(st->index));
    json_object_set_new(o, "type", json_string(type ? type : "unknown"));
    json_object_set_new(o, "codec", json_string(avcodec_get_name(par->codec_id)));
    json_object_set_new(o, "profile", profile ? json_string(profile) : json_null());
    if (par->codec_type == AVMEDIA_TYPE_VIDEO)
        add_video_fields(o, src, st);
    else if (par->codec_type == AVMEDIA_TYPE_AUDIO)
        add_audio_fields(o, st);
    json_object_set_new(o, "start_time", ts_json(st->start_time, st->time_base));
    json_object_set_new(o, "duration", ts_json(st->duration, st->time_base));
    json_object_set_new(o, "bit_rate",
                        par->bit_rate > 0 ? json_integer(par->bit_rate) : json_null());
    json_object_set_new(o, "selected", json_boolean(st == src->video));
    return o;
}

/* Counts the selected stream's packets; leaves the source rewound. */
static int count_packets(VidxSource *src, int64_t *count)
{
    AVPacket *pkt = av_packet_alloc();
    int64_t n = 0;
    int ret;
    if (!pkt)
        return AVERROR(ENOMEM);
    if ((ret = vidx__source_rewind(src)) < 0)
        goto done;
    src->used = 1;
    while ((ret = av_read_frame(src->fmt, pkt)) >= 0 || ret == AVERROR(EAGAIN)) {
        if (ret >= 0 && src->video && pkt->stream_index == src->video->index)
            n += !(pkt->flags & AV_PKT_FLAG_DISCARD) &&
                 vidx__packet_shown(src->video->codecpar->codec_id, pkt->data, pkt->size);
        av_packet_unref(pkt);
    }
    *count = n;
    ret = vidx__source_rewind(src);
done:
    av_packet_free(&pkt);
    return ret;
}

static json_t *format_json(const VidxSource *src)
{
    const AVFormatContext *fmt = src->fmt;
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "path", json_string(src->url));
    json_object_set_new(o, "container", json_string(fmt->iformat->name));
    json_object_set_new(o, "duration",
                        fmt->duration > 0 ? json_real(fmt->duration / 1e6) : json_null());
    json_object_set_new(o, "start_time",
                        fmt->start_time != AV_NOPTS_VALUE ? json_real(fmt->start_time / 1e6)
                                                          : json_null());
    json_object_set_new(o, "bit_rate",
                        fmt->bit_rate > 0 ? json_integer(fmt->bit_rate) : json_null());
    json_object_set_new(o, "video_stream",
                        src->video ? json_integer(src->video->index) : json_null());
    json_object_set_new(o, "video_duration",
                        src->video ? real_or_null(src->info.duration) : json_null());
    return o;
}

int vidx_source_probe_json(VidxSource *src, int count_frames, char **out)
{
    json_t *root = NULL, *streams;
    int ret = AVERROR(ENOMEM);
    *out = NULL;
    if (!src)
        return VIDX_EUSAGE;
    if (!(root = format_json(src)) || !(streams = json_array()))
        goto done;
    json_object_set_new(root, "streams", streams);
    for (unsigned i = 0; i < src->fmt->nb_streams; i++) {
        json_t *s = stream_json(src, src->fmt->streams[i]);
        if (!s || json_array_append_new(streams, s) < 0)
            goto done;
    }
    if (count_frames) {
        int64_t n = 0;
        if ((ret = count_packets(src, &n)) < 0)
            goto done;
        json_t *v = json_array_get(streams, src->info.stream); /* NULL: audio only */
        json_object_set_new(v, "frames", json_integer(n));
        json_object_set_new(v, "frames_exact", json_true());
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10));
    ret = text ? 0 : AVERROR(ENOMEM);
    if (text) {
        *out = av_strdup(text);
        free(text);
        ret = *out ? 0 : AVERROR(ENOMEM);
    }
done:
    json_decref(root);
    return ret;
}
