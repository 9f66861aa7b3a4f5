/*
 * transcode.c - see transcode.h. One libavfilter graph per medium:
 *
 *   video: buffer -> [transpose / hflip,vflip: the display matrix] -> split=K
 *            -> scale=WxH,setsar=1,format=yuv420p -> buffersink  (one per rendition)
 *            -> select (the first picture I s after the last one taken),scale=SWxSH,
 *               format=yuvj420p -> buffersink (sprites)
 *   audio: abuffer -> [loudnorm] -> aresample -> aformat=fltp -> abuffersink (AAC frames)
 *
 * so the file is read and decoded once; every rendition's encoder gets the same
 * pictures, a keyframe forced (IDR, scene cuts off) every gop_seconds, so the
 * keyframes, and with segments a multiple of the GOP the HLS segments, line
 * up across renditions. Sizes keep the display aspect ratio (SAR and rotation
 * applied); a rendition taller than the video is left out (the smallest one
 * is kept, at the video's height). The AAC packets are encoded once and
 * written to every output. HLS outputs: one FFmpeg hls muxer per rendition
 * (fMP4: NAME/init.mp4, NAME/seg_NNNNN.m4s, NAME/index.m3u8) and master.m3u8
 * written here; MP4 outputs: NAME.mp4 with the moov first (faststart).
 * Sprites: thumbnails tiled by this file into sprites/sprite_NNN.jpg (MJPEG)
 * and sprites/sprites.vtt (cue -> sprite_NNN.jpg#xywh=x,y,w,h).
 */
#include "transcode/transcode.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

#include "media/source.h"
#include "store/fs.h"

typedef struct Out {
    const TcRendition *r;
    int w, h;
    AVCodecContext *enc;
    AVFilterContext *sink;
    AVFormatContext *oc;
    AVStream *vs, *as;
    int64_t frames, bytes;
    int header;
} Out;

typedef struct Thumb {
    double start; /* seconds */
    int sheet, x, y;
} Thumb;

typedef struct Sprites {
    AVFilterContext *sink;
    AVCodecContext *jpeg;
    AVFrame *sheet;
    int w, h, n_in_sheet, sheets;
    Thumb *thumbs;
    size_t n, cap_thumbs;
    char *vtt;
    size_t len, cap;
} Sprites;

typedef struct Tc {
    const TcPreset *p;
    const char *dir;
    int threads;
    VidxSource *src;
    AVStream *ast;
    AVCodecContext *vdec, *adec, *aenc;
    AVFilterGraph *vg, *ag;
    AVFilterContext *vin, *ain, *asink;
    Out out[TC_MAX_RENDITIONS];
    int n;
    Sprites spr;
    int gop;
    double fps, duration;
    AVFrame *frame, *filt;
    AVPacket *pkt;
} Tc;

static int fail(int err, const char *what)
{
    char buf[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(err, buf, sizeof(buf));
    return vidx__detail(err < 0 ? err : VIDX_EENCODE, "%s: %s", what, buf);
}

/* ---- muxing ---- */

static int write_pkt(Out *o, AVPacket *pkt, AVRational tb, AVStream *st)
{
    av_packet_rescale_ts(pkt, tb, st->time_base);
    pkt->stream_index = st->index;
    o->bytes += pkt->size;
    int ret = av_interleaved_write_frame(o->oc, pkt);
    return ret < 0 ? fail(ret, "writing a packet") : 0;
}

static int drain_video(Tc *t, Out *o)
{
    int ret;
    while ((ret = avcodec_receive_packet(o->enc, t->pkt)) >= 0) {
        if (t->pkt->duration <= 0) /* the MP4 edit list ends at the last frame's end */
            t->pkt->duration = av_rescale_q(1, av_inv_q(o->enc->framerate), o->enc->time_base);
        if ((ret = write_pkt(o, t->pkt, o->enc->time_base, o->vs)) < 0)
            return ret;
    }
    return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : fail(ret, "encoding video");
}

static int drain_audio(Tc *t)
{
    int ret;
    while ((ret = avcodec_receive_packet(t->aenc, t->pkt)) >= 0) {
        for (int i = 0; i < t->n && ret >= 0; i++) {
            AVPacket *c = av_packet_clone(t->pkt);
            ret = c ? write_pkt(&t->out[i], c, t->aenc->time_base, t->out[i].as) : -ENOMEM;
            av_packet_free(&c);
        }
        av_packet_unref(t->pkt);
        if (ret < 0)
            return ret;
    }
    return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : fail(ret, "encoding audio");
}

/* ---- sprites ---- */

static int vtt_add(Sprites *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vtt_add(Sprites *s, const char *fmt, ...)
{
    va_list ap;
    char line[256];
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || vidx__grow(&s->vtt, &s->cap, s->len + (size_t)n + 1, 1, 4096) < 0)
        return -ENOMEM;
    memcpy(s->vtt + s->len, line, (size_t)n + 1);
    s->len += (size_t)n;
    return 0;
}

static void stamp(char *buf, size_t size, double t)
{
    int64_t ms = llround(t * 1000);
    snprintf(buf, size, "%02lld:%02lld:%02lld.%03lld", (long long)(ms / 3600000),
             (long long)(ms / 60000 % 60), (long long)(ms / 1000 % 60), (long long)(ms % 1000));
}

static void sheet_clear(AVFrame *f)
{
    for (int y = 0; y < f->height; y++)
        memset(f->data[0] + y * f->linesize[0], 16, (size_t)f->width);
    for (int y = 0; y < (f->height + 1) / 2; y++) {
        memset(f->data[1] + y * f->linesize[1], 128, (size_t)(f->width + 1) / 2);
        memset(f->data[2] + y * f->linesize[2], 128, (size_t)(f->width + 1) / 2);
    }
}

static int sheet_write(Tc *t)
{
    Sprites *s = &t->spr;
    char name[PATH_MAX];
    int ret = avcodec_send_frame(s->jpeg, s->sheet);
    if (ret >= 0)
        ret = avcodec_receive_packet(s->jpeg, t->pkt);
    if (ret < 0)
        return fail(ret, "encoding a sprite sheet");
    snprintf(name, sizeof(name), "%s/sprites", t->dir);
    char file[32];
    snprintf(file, sizeof(file), "sprite_%03d.jpg", s->sheets);
    ret = vidx__write_atomic(name, file, t->pkt->data, (size_t)t->pkt->size, 0);
    av_packet_unref(t->pkt);
    s->sheets++;
    s->n_in_sheet = 0;
    if ((ret = ret < 0 ? ret : av_frame_make_writable(s->sheet)) >= 0)
        sheet_clear(s->sheet);
    return ret < 0 ? vidx__detail(ret, "writing a sprite sheet in %s", name) : 0;
}

static int sprite_add(Tc *t, const AVFrame *f)
{
    Sprites *s = &t->spr;
    const TcPreset *p = t->p;
    int per = p->sprite_columns * p->sprite_rows, col = s->n_in_sheet % p->sprite_columns,
        row = s->n_in_sheet / p->sprite_columns, ret = av_frame_make_writable(s->sheet);
    if (ret < 0)
        return fail(ret, "sprites");
    for (int pl = 0; pl < 3; pl++) {
        int sh = pl ? 1 : 0, w = (FFMIN(f->width, s->w) + sh) >> sh,
            h = (FFMIN(f->height, s->h) + sh) >> sh;
        for (int y = 0; y < h; y++)
            memcpy(s->sheet->data[pl] + (size_t)((row * s->h >> sh) + y) * s->sheet->linesize[pl] +
                       (col * s->w >> sh),
                   f->data[pl] + (size_t)y * f->linesize[pl], (size_t)w);
    }
    if (vidx__grow(&s->thumbs, &s->cap_thumbs, s->n + 1, sizeof(*s->thumbs), 64) < 0)
        return -ENOMEM;
    s->thumbs[s->n] = (Thumb){(double)s->n * p->sprite_interval, s->sheets, col * s->w, row * s->h};
    s->n++;
    if (ret == 0 && ++s->n_in_sheet == per)
        ret = sheet_write(t);
    return ret;
}

static int sprites_finish(Tc *t)
{
    Sprites *s = &t->spr;
    char dir[PATH_MAX];
    int ret = s->n_in_sheet ? sheet_write(t) : 0;
    snprintf(dir, sizeof(dir), "%s/sprites", t->dir);
    for (size_t i = 0; ret == 0 && i < s->n;
         i++) { /* each cue until the next, the last until the end */
        char a[48], b[48];
        double end = i + 1 < s->n
                         ? s->thumbs[i + 1].start
                         : FFMAX(s->thumbs[i].start + 0.001,
                                 FFMIN(t->duration, s->thumbs[i].start + t->p->sprite_interval));
        stamp(a, sizeof(a), s->thumbs[i].start);
        stamp(b, sizeof(b), end);
        ret = vtt_add(s, "%s --> %s\nsprite_%03d.jpg#xywh=%d,%d,%d,%d\n\n", a, b,
                      s->thumbs[i].sheet, s->thumbs[i].x, s->thumbs[i].y, s->w, s->h);
    }
    if (ret == 0) {
        char *text = malloc(s->len + 8);
        if (!text)
            return -ENOMEM;
        memcpy(text, "WEBVTT\n\n", 8);
        memcpy(text + 8, s->vtt ? s->vtt : "", s->len);
        ret = vidx__write_atomic(dir, "sprites.vtt", text, s->len + 8, 0);
        free(text);
    }
    return ret < 0 ? vidx__detail(ret, "writing %s/sprites.vtt", dir) : 0;
}

/* ---- pulling filtered frames ---- */

static int pull_video(Tc *t, int flush)
{
    int ret = 0;
    for (int i = 0; i < t->n && ret >= 0; i++) {
        Out *o = &t->out[i];
        while ((ret = av_buffersink_get_frame(o->sink, t->filt)) >= 0) {
            t->filt->pict_type = o->frames % t->gop ? AV_PICTURE_TYPE_NONE : AV_PICTURE_TYPE_I;
            o->frames++;
            ret = avcodec_send_frame(o->enc, t->filt);
            av_frame_unref(t->filt);
            if (ret < 0 || (ret = drain_video(t, o)) < 0)
                return ret < 0 ? fail(ret, "encoding video") : ret;
        }
        if (ret == AVERROR_EOF && flush) {
            if ((ret = avcodec_send_frame(o->enc, NULL)) >= 0)
                ret = drain_video(t, o);
        } else if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            ret = 0;
    }
    while (ret >= 0 && t->spr.sink && (ret = av_buffersink_get_frame(t->spr.sink, t->filt)) >= 0) {
        ret = sprite_add(t, t->filt);
        av_frame_unref(t->filt);
    }
    return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : ret;
}

static int pull_audio(Tc *t, int flush)
{
    int ret;
    while ((ret = av_buffersink_get_frame(t->asink, t->filt)) >= 0) {
        ret = avcodec_send_frame(t->aenc, t->filt);
        av_frame_unref(t->filt);
        if (ret < 0 || (ret = drain_audio(t)) < 0)
            return ret < 0 ? fail(ret, "encoding audio") : ret;
    }
    if (ret == AVERROR_EOF && flush && (ret = avcodec_send_frame(t->aenc, NULL)) >= 0)
        ret = drain_audio(t);
    return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : ret;
}

/* ---- set-up ---- */

static int open_decoder(Tc *t, AVStream *st, AVCodecContext **out)
{
    const AVCodec *c = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *d = c ? avcodec_alloc_context3(c) : NULL;
    int ret = d ? avcodec_parameters_to_context(d, st->codecpar) : AVERROR_DECODER_NOT_FOUND;
    if (ret >= 0) {
        d->pkt_timebase = st->time_base;
        d->thread_count = t->threads;
        ret = avcodec_open2(d, c, NULL);
    }
    *out = d;
    return ret < 0 ? fail(ret, "opening the decoder") : 0;
}

/* Links the sinks (named o0.., spr) to desc's open outputs and configures the graph. */
static int parse_graph(AVFilterGraph *g, const char *desc, AVFilterContext *src,
                       AVFilterContext **sinks, const char *const *names, int n)
{
    AVFilterInOut *outs = avfilter_inout_alloc(), *ins = NULL;
    int ret = outs ? 0 : -ENOMEM;
    if (outs) {
        outs->name = av_strdup("in");
        outs->filter_ctx = src;
    }
    for (int i = n - 1; i >= 0 && ret >= 0; i--) {
        AVFilterInOut *x = avfilter_inout_alloc();
        if (!x) {
            ret = -ENOMEM;
            break;
        }
        x->name = av_strdup(names[i]);
        x->filter_ctx = sinks[i];
        x->next = ins;
        ins = x;
    }
    if (ret >= 0)
        ret = avfilter_graph_parse_ptr(g, desc, &ins, &outs, NULL);
    if (ret >= 0)
        ret = avfilter_graph_config(g, NULL);
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    return ret < 0 ? fail(ret, "building the filter graph") : 0;
}

static int even(double x)
{
    return FFMAX(2, (int)lrint(x / 2) * 2);
}

/* Which renditions, at which sizes (display aspect; none taller than the video). */
static void choose_sizes(Tc *t, int dw, int dh)
{
    const TcPreset *p = t->p;
    int smallest = 0;
    for (int i = 0; i < p->n; i++)
        if (p->r[i].height < p->r[smallest].height)
            smallest = i;
    for (int i = 0; i < p->n; i++) {
        if (p->r[i].height > dh && i != smallest)
            continue;
        int h = FFMIN(p->r[i].height, dh & ~1);
        t->out[t->n++] = (Out){.r = &p->r[i], .w = even((double)h * dw / dh), .h = FFMAX(h, 2)};
    }
}

static int video_graph(Tc *t)
{
    AVCodecContext *d = t->vdec;
    const VidxVideoInfo *vi = &t->src->info;
    char args[256], desc[2048], names[TC_MAX_RENDITIONS + 1][16];
    const char *nm[TC_MAX_RENDITIONS + 1];
    AVFilterContext *sinks[TC_MAX_RENDITIONS + 1];
    AVRational sar = d->sample_aspect_ratio.num ? d->sample_aspect_ratio : (AVRational){1, 1};
    int ret;
    t->vg = avfilter_graph_alloc();
    if (!t->vg)
        return -ENOMEM;
    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=%d/%d",
             d->width, d->height, d->pix_fmt, t->src->video->time_base.num,
             t->src->video->time_base.den, sar.num, sar.den);
    if ((ret = avfilter_graph_create_filter(&t->vin, avfilter_get_by_name("buffer"), "in", args,
                                            NULL, t->vg)) < 0)
        return fail(ret, "the video filter's input");
    choose_sizes(t, vi->display_width, vi->display_height);
    int k = t->n + (t->p->sprite_interval > 0), len;
    const char *rot = vi->rotation == 90    ? "transpose=clock,"
                      : vi->rotation == 180 ? "hflip,vflip,"
                      : vi->rotation == 270 ? "transpose=cclock,"
                                            : "";
    len = snprintf(desc, sizeof(desc), "[in]%ssplit=%d", rot, k);
    for (int i = 0; i < k; i++)
        len += snprintf(desc + len, sizeof(desc) - (size_t)len, "[s%d]", i);
    for (int i = 0; i < t->n; i++)
        len += snprintf(desc + len, sizeof(desc) - (size_t)len,
                        ";[s%d]scale=%d:%d:flags=bicubic,setsar=1,format=yuv420p[o%d]", i,
                        t->out[i].w, t->out[i].h, i);
    if (k > t->n) {
        t->spr.w = t->p->sprite_width;
        t->spr.h = even((double)t->spr.w * vi->display_height / vi->display_width);
        len += snprintf(desc + len, sizeof(desc) - (size_t)len,
                        ";[s%d]select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,%g)',"
                        "scale=%d:%d,setsar=1,format=yuvj420p[o%d]",
                        t->n, t->p->sprite_interval, t->spr.w, t->spr.h, t->n);
    }
    for (int i = 0; i < k; i++) {
        snprintf(names[i], sizeof(names[i]), "o%d", i);
        nm[i] = names[i];
        if ((ret = avfilter_graph_create_filter(&sinks[i], avfilter_get_by_name("buffersink"),
                                                names[i], NULL, NULL, t->vg)) < 0)
            return fail(ret, "the video filter's outputs");
    }
    if ((ret = parse_graph(t->vg, desc, t->vin, sinks, nm, k)) < 0)
        return ret;
    for (int i = 0; i < t->n; i++)
        t->out[i].sink = sinks[i];
    t->spr.sink = k > t->n ? sinks[t->n] : NULL;
    return 0;
}

static int audio_graph(Tc *t)
{
    AVCodecContext *d = t->adec;
    char args[512], layout[128], desc[512], outl[32];
    AVFilterContext *sink;
    const char *nm[1] = {"o0"};
    int ret;
    if (!d->ch_layout.nb_channels)
        av_channel_layout_default(&d->ch_layout, 2);
    if (d->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&d->ch_layout, d->ch_layout.nb_channels);
    av_channel_layout_describe(&d->ch_layout, layout, sizeof(layout));
    t->ag = avfilter_graph_alloc();
    if (!t->ag)
        return -ENOMEM;
    snprintf(args, sizeof(args), "time_base=1/%d:sample_rate=%d:sample_fmt=%s:channel_layout=%s",
             d->sample_rate, d->sample_rate, av_get_sample_fmt_name(d->sample_fmt), layout);
    if ((ret = avfilter_graph_create_filter(&t->ain, avfilter_get_by_name("abuffer"), "in", args,
                                            NULL, t->ag)) < 0 ||
        (ret = avfilter_graph_create_filter(&sink, avfilter_get_by_name("abuffersink"), "o0", NULL,
                                            NULL, t->ag)) < 0)
        return fail(ret, "the audio filter");
    av_channel_layout_describe(&t->aenc->ch_layout, outl, sizeof(outl));
    char loud[128] = "";
    if (t->p->loudnorm)
        snprintf(loud, sizeof(loud), "loudnorm=I=%g:TP=%g:LRA=%g,", t->p->loud_i, t->p->loud_tp,
                 t->p->loud_lra);
    snprintf(desc, sizeof(desc),
             "[in]%saresample=%d,aformat=sample_fmts=fltp:channel_layouts=%s[o0]", loud,
             t->aenc->sample_rate, outl);
    if ((ret = parse_graph(t->ag, desc, t->ain, &sink, nm, 1)) < 0)
        return ret;
    t->asink = sink;
    av_buffersink_set_frame_size(sink, (unsigned)t->aenc->frame_size);
    return 0;
}

static int open_audio_encoder(Tc *t)
{
    const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_AAC);
    AVCodecContext *e = c ? avcodec_alloc_context3(c) : NULL;
    if (!e)
        return vidx__detail(VIDX_EENCODE, "no AAC encoder in this FFmpeg");
    t->aenc = e;
    e->sample_rate = t->p->audio_rate;
    av_channel_layout_default(&e->ch_layout, t->p->audio_channels);
    e->sample_fmt = AV_SAMPLE_FMT_FLTP;
    e->bit_rate = t->p->audio_bitrate;
    e->time_base = (AVRational){1, e->sample_rate};
    e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int ret = avcodec_open2(e, c, NULL);
    return ret < 0 ? fail(ret, "opening the AAC encoder") : 0;
}

static int open_video_encoder(Tc *t, Out *o)
{
    const AVCodec *c = avcodec_find_encoder_by_name("libx264");
    AVCodecContext *e = c ? avcodec_alloc_context3(c) : NULL;
    if (!e)
        return vidx__detail(VIDX_EENCODE, "no libx264 encoder in this FFmpeg");
    o->enc = e;
    e->width = o->w;
    e->height = o->h;
    e->pix_fmt = AV_PIX_FMT_YUV420P;
    e->sample_aspect_ratio = (AVRational){1, 1};
    e->time_base = av_buffersink_get_time_base(o->sink);
    e->framerate = av_d2q(t->fps, 100000);
    e->gop_size = t->gop;
    e->keyint_min = t->gop;
    e->max_b_frames = 3;
    e->thread_count = t->threads;
    e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (o->r->bitrate) {
        e->bit_rate = o->r->bitrate;
        e->rc_max_rate = o->r->maxrate;
        e->rc_buffer_size = (int)FFMIN(o->r->bufsize, INT_MAX);
    }
    AVDictionary *opt = NULL;
    av_dict_set(&opt, "preset", t->p->x264_preset, 0);
    av_dict_set(&opt, "forced-idr", "1", 0);
    av_dict_set(&opt, "x264-params", "scenecut=0:open-gop=0", 0);
    if (!o->r->bitrate)
        av_dict_set_int(&opt, "crf", o->r->crf, 0);
    int ret = avcodec_open2(e, c, &opt);
    av_dict_free(&opt);
    return ret < 0 ? fail(ret, "opening libx264") : 0;
}

static int open_output(Tc *t, Out *o)
{
    char path[PATH_MAX], seg[PATH_MAX];
    AVDictionary *opt = NULL;
    int ret;
    if (t->p->hls) {
        snprintf(path, sizeof(path), "%s/%s", t->dir, o->r->name);
        if (mkdir(path, 0777) < 0)
            return vidx__detail(-errno, "creating %s", path);
        snprintf(seg, sizeof(seg), "%s/%s/seg_%%05d.m4s", t->dir, o->r->name);
        snprintf(path, sizeof(path), "%s/%s/index.m3u8", t->dir, o->r->name);
        av_dict_set(&opt, "hls_time", "0", 0);
        av_dict_set_int(&opt, "hls_time", (int64_t)lrint(t->p->segment_seconds), 0);
        av_dict_set(&opt, "hls_playlist_type", "vod", 0);
        av_dict_set(&opt, "hls_segment_type", "fmp4", 0);
        av_dict_set(&opt, "hls_fmp4_init_filename", "init.mp4", 0);
        av_dict_set(&opt, "hls_segment_filename", seg, 0);
        av_dict_set(&opt, "hls_flags", "independent_segments", 0);
    } else {
        snprintf(path, sizeof(path), "%s/%s.mp4", t->dir, o->r->name);
        av_dict_set(&opt, "movflags", "+faststart", 0);
    }
    ret = avformat_alloc_output_context2(&o->oc, NULL, t->p->hls ? "hls" : "mp4", path);
    if (ret >= 0 && !(o->vs = avformat_new_stream(o->oc, NULL)))
        ret = -ENOMEM;
    if (ret >= 0 && (ret = avcodec_parameters_from_context(o->vs->codecpar, o->enc)) >= 0)
        o->vs->time_base = o->enc->time_base;
    if (ret >= 0 && t->aenc) {
        if (!(o->as = avformat_new_stream(o->oc, NULL)))
            ret = -ENOMEM;
        else if ((ret = avcodec_parameters_from_context(o->as->codecpar, t->aenc)) >= 0)
            o->as->time_base = t->aenc->time_base;
    }
    if (ret >= 0 && !(o->oc->oformat->flags & AVFMT_NOFILE))
        ret = avio_open(&o->oc->pb, path, AVIO_FLAG_WRITE);
    if (ret >= 0 && (ret = avformat_write_header(o->oc, &opt)) >= 0)
        o->header = 1;
    av_dict_free(&opt);
    return ret < 0 ? vidx__detail(ret < 0 ? ret : VIDX_EENCODE, "creating %s: %s", path,
                                  av_err2str(ret))
                   : 0;
}

static int open_sprites(Tc *t)
{
    Sprites *s = &t->spr;
    char dir[PATH_MAX];
    const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    snprintf(dir, sizeof(dir), "%s/sprites", t->dir);
    if (mkdir(dir, 0777) < 0)
        return vidx__detail(-errno, "creating %s", dir);
    if (!c || !(s->jpeg = avcodec_alloc_context3(c)) || !(s->sheet = av_frame_alloc()))
        return -ENOMEM;
    s->jpeg->width = s->sheet->width = s->w * t->p->sprite_columns;
    s->jpeg->height = s->sheet->height = s->h * t->p->sprite_rows;
    s->jpeg->pix_fmt = s->sheet->format = AV_PIX_FMT_YUVJ420P;
    s->jpeg->time_base = (AVRational){1, 1};
    s->jpeg->flags |= AV_CODEC_FLAG_QSCALE;
    s->jpeg->global_quality = FF_QP2LAMBDA * 4;
    s->sheet->quality = s->jpeg->global_quality;
    int ret = avcodec_open2(s->jpeg, c, NULL);
    if (ret >= 0)
        ret = av_frame_get_buffer(s->sheet, 0);
    if (ret >= 0)
        sheet_clear(s->sheet);
    return ret < 0 ? fail(ret, "the sprite encoder") : 0;
}

/* ---- the read loop ---- */

static int feed(Tc *t, AVCodecContext *d, AVPacket *pkt)
{
    int ret = avcodec_send_packet(d, pkt);
    if (ret < 0 && ret != AVERROR_EOF) /* a damaged packet: skipped, as the sampler does */
        return 0;
    while ((ret = avcodec_receive_frame(d, t->frame)) >= 0) {
        int video = d == t->vdec;
        if (video)
            t->duration =
                FFMAX(t->duration, (t->frame->best_effort_timestamp + t->frame->pkt_duration) *
                                       av_q2d(t->src->video->time_base));
        ret = av_buffersrc_add_frame_flags(video ? t->vin : t->ain, t->frame, 0);
        av_frame_unref(t->frame);
        if (ret < 0)
            return fail(ret, "filtering");
        if ((ret = video ? pull_video(t, 0) : pull_audio(t, 0)) < 0)
            return ret;
    }
    return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : 0; /* decode errors: skipped */
}

static int read_all(Tc *t)
{
    int ret;
    while ((ret = av_read_frame(t->src->fmt, t->pkt)) >= 0) {
        AVCodecContext *d = t->pkt->stream_index == t->src->video->index      ? t->vdec
                            : t->ast && t->pkt->stream_index == t->ast->index ? t->adec
                                                                              : NULL;
        ret = d ? feed(t, d, t->pkt) : 0;
        av_packet_unref(t->pkt);
        if (ret < 0)
            return ret;
    }
    if (ret != AVERROR_EOF)
        return fail(ret, "reading");
    ret = feed(t, t->vdec, NULL);
    if (ret >= 0 && (ret = av_buffersrc_add_frame(t->vin, NULL)) >= 0)
        ret = pull_video(t, 1);
    if (ret >= 0 && t->adec && (ret = feed(t, t->adec, NULL)) >= 0 &&
        (ret = av_buffersrc_add_frame(t->ain, NULL)) >= 0)
        ret = pull_audio(t, 1);
    return ret;
}

/* ---- the master playlist ---- */

/* "avc1.PPCCLL" from the encoder's SPS (Annex B extradata). */
static void avc1(const AVCodecContext *e, char *out, size_t size)
{
    const uint8_t *x = e->extradata;
    snprintf(out, size, "avc1.640028");
    for (int i = 0; x && i + 6 < e->extradata_size; i++)
        if (x[i] == 0 && x[i + 1] == 0 && x[i + 2] == 1 && (x[i + 3] & 0x1f) == 7) {
            snprintf(out, size, "avc1.%02x%02x%02x", x[i + 4], x[i + 5], x[i + 6]);
            return;
        }
}

static void codecs(const Tc *t, const Out *o, char *out, size_t size)
{
    char v[32];
    avc1(o->enc, v, sizeof(v));
    snprintf(out, size, "%s%s", v, t->aenc ? ",mp4a.40.2" : "");
}

static int write_master(Tc *t)
{
    char text[4096], codec[48];
    int len =
        snprintf(text, sizeof(text), "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for (int i = 0; i < t->n; i++) {
        const Out *o = &t->out[i];
        int64_t avg = t->duration > 0 ? (int64_t)(o->bytes * 8 / t->duration) : o->r->bitrate;
        int64_t peak = FFMAX(avg * 3 / 2, o->r->maxrate + (t->aenc ? t->p->audio_bitrate : 0));
        codecs(t, o, codec, sizeof(codec));
        len += snprintf(text + len, sizeof(text) - (size_t)len,
                        "#EXT-X-STREAM-INF:BANDWIDTH=%lld,AVERAGE-BANDWIDTH=%lld,RESOLUTION=%dx%d,"
                        "FRAME-RATE=%.3f,CODECS=\"%s\"\n%s/index.m3u8\n",
                        (long long)peak, (long long)avg, o->w, o->h, t->fps, codec, o->r->name);
    }
    int ret = vidx__write_atomic(t->dir, "master.m3u8", text, (size_t)len, 0);
    return ret < 0 ? vidx__detail(ret, "writing %s/master.m3u8", t->dir) : 0;
}

/* ---- what was made ---- */

/* One output's entry: bytes of rel (whole: its file; else every file of its folder). */
static int add_rendition(const Tc *t, json_t *arr, const char *kind, const char *rel, int whole,
                         const char *codec, int w, int h)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
    if (!whole)
        *strrchr(path, '/') = 0;
    int64_t bytes = vidx__tree_size(path);
    int64_t rate = t->duration > 0 && bytes > 0 ? (int64_t)(bytes * 8 / t->duration) : 0;
    json_t *o = json_pack("{s:s, s:s, s:I, s:f, s:s, s:i, s:i, s:I}", "kind", kind, "path", rel,
                          "bytes", (json_int_t)bytes, "duration", t->duration, "codec", codec,
                          "width", w, "height", h, "bitrate", (json_int_t)rate);
    return o && bytes >= 0 && json_array_append_new(arr, o) == 0 ? 0 : -ENOMEM;
}

static int report(const Tc *t, json_t *arr)
{
    char rel[PATH_MAX], codec[48];
    int ret = 0;
    for (int i = 0; i < t->n && ret == 0; i++) {
        const Out *o = &t->out[i];
        codecs(t, o, codec, sizeof(codec));
        snprintf(rel, sizeof(rel), t->p->hls ? "%s/index.m3u8" : "%s.mp4", o->r->name);
        ret =
            add_rendition(t, arr, t->p->hls ? "hls" : "proxy", rel, !t->p->hls, codec, o->w, o->h);
    }
    if (ret == 0 && t->p->hls)
        ret = add_rendition(t, arr, "master", "master.m3u8", 1, "", 0, 0);
    if (ret == 0 && t->spr.sink)
        ret =
            add_rendition(t, arr, "sprite", "sprites/sprites.vtt", 0, "mjpeg", t->spr.w, t->spr.h);
    return ret;
}

/* ---- one input ---- */

static int setup(Tc *t, const char *url, const VidxSourceSettings *source)
{
    VidxSourceSettings ss;
    vidx_source_default_settings(&ss);
    int ret = vidx_source_open(&t->src, url, source ? source : &ss);
    if (ret < 0)
        return ret;
    if (!t->src->video)
        return vidx__detail(VIDX_ENOVIDEO, "%s has no video stream", url);
    AVStream *vs = t->src->video;
    AVRational fr = vs->avg_frame_rate.num ? vs->avg_frame_rate : vs->r_frame_rate;
    t->fps = fr.num && fr.den ? av_q2d(fr) : 25;
    t->gop = FFMAX(1, (int)lrint(t->fps * t->p->gop_seconds));
    if ((ret = open_decoder(t, vs, &t->vdec)) < 0 || (ret = video_graph(t)) < 0)
        return ret;
    if (t->src->audio_index >= 0) {
        t->ast = t->src->fmt->streams[t->src->audio_index];
        if ((ret = open_decoder(t, t->ast, &t->adec)) < 0 || (ret = open_audio_encoder(t)) < 0 ||
            (ret = audio_graph(t)) < 0)
            return ret;
    }
    for (int i = 0; i < t->n; i++)
        if ((ret = open_video_encoder(t, &t->out[i])) < 0 || (ret = open_output(t, &t->out[i])) < 0)
            return ret;
    return t->spr.sink ? open_sprites(t) : 0;
}

static void teardown(Tc *t)
{
    for (int i = 0; i < t->n; i++) {
        Out *o = &t->out[i];
        if (o->oc && o->oc->pb && !(o->oc->oformat->flags & AVFMT_NOFILE))
            avio_closep(&o->oc->pb);
        avformat_free_context(o->oc);
        avcodec_free_context(&o->enc);
    }
    avcodec_free_context(&t->spr.jpeg);
    av_frame_free(&t->spr.sheet);
    free(t->spr.vtt);
    free(t->spr.thumbs);
    avfilter_graph_free(&t->vg);
    avfilter_graph_free(&t->ag);
    avcodec_free_context(&t->vdec);
    avcodec_free_context(&t->adec);
    avcodec_free_context(&t->aenc);
    av_frame_free(&t->frame);
    av_frame_free(&t->filt);
    av_packet_free(&t->pkt);
    vidx_source_close(&t->src);
}

int vidx__transcode_one(const char *url, const char *dir, const TcPreset *p, int threads,
                        const VidxSourceSettings *source, json_t *renditions)
{
    Tc t = {.p = p, .dir = dir, .threads = threads};
    t.frame = av_frame_alloc();
    t.filt = av_frame_alloc();
    t.pkt = av_packet_alloc();
    int ret = t.frame && t.filt && t.pkt ? setup(&t, url, source) : -ENOMEM;
    if (ret >= 0)
        ret = read_all(&t);
    for (int i = 0; i < t.n && ret >= 0; i++) {
        ret = av_write_trailer(t.out[i].oc);
        t.out[i].header = 0;
        if (ret < 0)
            ret = fail(ret, "finishing an output");
    }
    if (ret >= 0 && t.spr.sink)
        ret = sprites_finish(&t);
    if (ret >= 0 && p->hls)
        ret = write_master(&t);
    if (ret >= 0 && renditions)
        ret = report(&t, renditions);
    for (int i = 0; i < t.n; i++) /* a failed run: the muxer's files are closed, then removed */
        if (t.out[i].header)
            av_write_trailer(t.out[i].oc);
    teardown(&t);
    return ret;
}
