/*
 * source.c - opening inputs safely and learning the video's geometry.
 *
 * Untrusted files must not be able to make FFmpeg read anything but
 * themselves. Local inputs are opened through the "file:" protocol alone and
 * URLs through http/https/tcp/tls alone; on top of that only demuxers that
 * never open further inputs are allowed (a playlist or concat list is
 * refused before it opens anything). See docs/SECURITY.md.
 */
#include "media/source.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/avstring.h>
#include <libavutil/display.h>

/*
 * Demuxers that read exactly one input. Everything else (hls, dash, concat,
 * image2 patterns, tee, ...) is refused. Names as FFmpeg spells the demuxer.
 */
static const char safe_demuxers[] =
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,mpegvideo,asf,ogg,"
    "h264,hevc,m4v,h263,h261,av1,obu,ivf,mxf,nut,rm,wtv,dv,gif,yuv4mpegpipe,vc1,"
    "swf,smk,bink,flic,mjpeg,mpjpeg,nuv,roq,thp,film_cpk,r3d,rl2,vqf,xmv,mtv,avs,"
    "vivo,cdxl,daud,dirac,dnxhd,amv,cavsvideo,pmp";

/*
 * Demuxers of audio-only formats, all reading exactly one input. Allowed only
 * when an audio-only file is asked for (VidxSourceSettings.audio_only).
 */
static const char audio_demuxers[] =
    "mp3,wav,w64,flac,aac,ac3,eac3,aiff,ape,tta,wv,dts,dtshd,amr,amrnb,amrwb,au,caf,mpc,mpc8,tak,"
    "voc,loas,truehd,mlp,sbc,shn,xwma,dsf,ircam,sox,gsm,codec2,s337m,wsaud";

int vidx__demuxer_kind(const char *name)
{
    if (strstr(name, "_pipe") || strstr(name, "image2") || !strcmp(name, "gif"))
        return VIDX_DEMUX_IMAGE;
    if (av_match_list(name, audio_demuxers, ',') > 0)
        return VIDX_DEMUX_AUDIO;
    return av_match_list(name, safe_demuxers, ',') > 0 ? VIDX_DEMUX_VIDEO : VIDX_DEMUX_OTHER;
}

void vidx_source_default_settings(VidxSourceSettings *s)
{
    memset(s, 0, sizeof(*s));
    s->stream = -1;
    s->network_timeout = 30.0;
    s->max_pixels = 8192LL * 8192LL;
}

static int is_url(const char *url)
{
    return !strncmp(url, "http://", 7) || !strncmp(url, "https://", 8);
}

/* Cheap checks that give a precise cause before FFmpeg's generic ones. */
static int check_local_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return AVERROR(errno);
    if (S_ISDIR(st.st_mode))
        return AVERROR(EISDIR);
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
        return VIDX_EFORMAT;
    if (access(path, R_OK) < 0)
        return AVERROR(errno);
    if (S_ISREG(st.st_mode) && st.st_size == 0)
        return VIDX_EEMPTY;
    return 0;
}

/* Clockwise degrees (0/90/180/270) needed to show the picture upright. */
static int stream_rotation(const AVStream *st)
{
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (!m)
        return 0;
    double theta = -av_display_rotation_get((const int32_t *)m);
    if (theta != theta) /* NaN: degenerate matrix */
        return 0;
    theta -= 360.0 * floor(theta / 360.0 + 0.9 / 360.0);
    int r = (int)(90.0 * floor(theta / 90.0 + 0.5)) % 360;
    return r;
}

static double ts_seconds(int64_t ts, AVRational tb)
{
    return ts == AV_NOPTS_VALUE ? -1.0 : ts * av_q2d(tb);
}

static void fill_video_info(VidxSource *src)
{
    const AVStream *st = src->video;
    const AVCodecParameters *par = st->codecpar;
    VidxVideoInfo *vi = &src->info;
    AVRational sar = av_guess_sample_aspect_ratio(src->fmt, (AVStream *)st, NULL);

    vi->stream = st->index;
    vi->coded_width = par->width;
    vi->coded_height = par->height;
    vi->sar_num = sar.num > 0 ? sar.num : 1;
    vi->sar_den = sar.num > 0 && sar.den > 0 ? sar.den : 1;
    vi->rotation = stream_rotation(st);
    int dw = par->width, dh = par->height;
    if (vi->sar_num != vi->sar_den)
        dw = (int)av_rescale(par->width, vi->sar_num, vi->sar_den);
    dw = VIDX_MAX(dw, 1);
    vi->display_width = vi->rotation % 180 ? dh : dw;
    vi->display_height = vi->rotation % 180 ? dw : dh;

    vi->start = st->start_time != AV_NOPTS_VALUE         ? ts_seconds(st->start_time, st->time_base)
                : src->fmt->start_time != AV_NOPTS_VALUE ? src->fmt->start_time / 1e6
                                                         : 0.0;
    vi->duration = ts_seconds(st->duration, st->time_base);
    if (vi->duration <= 0 && src->fmt->duration > 0)
        vi->duration = src->fmt->duration / 1e6;
    if (vi->duration <= 0)
        vi->duration = -1.0;
    vi->avg_fps =
        st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? av_q2d(st->avg_frame_rate) : 0.0;
    vi->frames = st->nb_frames > 0 ? st->nb_frames : -1;
    vi->has_audio = src->audio_index >= 0;
}

static int pick_streams(VidxSource *src, int wanted)
{
    AVFormatContext *fmt = src->fmt;
    int idx = wanted;
    if (wanted >= 0) {
        if ((unsigned)wanted >= fmt->nb_streams ||
            fmt->streams[wanted]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO)
            return VIDX_ENOVIDEO;
    } else {
        idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
        if (idx < 0)
            return idx == AVERROR_DECODER_NOT_FOUND ? idx : VIDX_ENOVIDEO;
    }
    if (fmt->streams[idx]->disposition & AV_DISPOSITION_ATTACHED_PIC)
        return VIDX_ENOVIDEO;
    src->video = fmt->streams[idx];
    src->audio_index = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, idx, NULL, 0);
    if (src->audio_index < 0)
        src->audio_index = -1;
    const AVCodecParameters *par = src->video->codecpar;
    if (!avcodec_find_decoder(par->codec_id))
        return AVERROR_DECODER_NOT_FOUND;
    if (par->width <= 0 || par->height <= 0)
        return VIDX_EDECODE;
    if ((int64_t)par->width * par->height > src->settings.max_pixels)
        return VIDX_ELIMIT;
    return 0;
}

/*
 * settings.audio_only: a file without a video stream (or whose only picture
 * is cover art) is taken for its audio; info.stream is -1.
 */
static int pick_audio_only(VidxSource *src)
{
    int idx = av_find_best_stream(src->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (idx < 0)
        return VIDX_ENOVIDEO;
    const AVStream *st = src->fmt->streams[idx];
    src->video = NULL;
    src->audio_index = idx;
    memset(&src->info, 0, sizeof(src->info));
    src->info.stream = -1;
    src->info.duration = st->duration != AV_NOPTS_VALUE ? ts_seconds(st->duration, st->time_base)
                         : src->fmt->duration > 0       ? src->fmt->duration / 1e6
                                                        : -1.0;
    src->info.frames = -1;
    src->info.has_audio = 1;
    return 0;
}

static int open_demuxer(VidxSource *src, const char *url)
{
    AVDictionary *opts = NULL;
    char *target = NULL;
    int ret = AVERROR(ENOMEM);

    src->fmt = avformat_alloc_context();
    if (!src->fmt)
        return AVERROR(ENOMEM);
    src->fmt->protocol_whitelist = av_strdup(src->network ? "http,https,tcp,tls" : "file");
    src->fmt->format_whitelist = src->settings.audio_only
                                     ? av_asprintf("%s,%s", safe_demuxers, audio_demuxers)
                                     : av_strdup(safe_demuxers);
    if (!src->fmt->protocol_whitelist || !src->fmt->format_whitelist)
        goto fail;
    if (src->network) {
        int64_t us = (int64_t)(src->settings.network_timeout * 1e6);
        av_dict_set_int(&opts, "rw_timeout", us, 0);
        av_dict_set_int(&opts, "timeout", us, 0);
        av_dict_set(&opts, "reconnect", "0", 0);
        target = av_strdup(url);
    } else {
        target = av_asprintf("file:%s", url); /* a ':' in a name is not a protocol */
    }
    if (!target)
        goto fail;
    ret = avformat_open_input(&src->fmt, target, NULL, &opts);
    if (ret == AVERROR(EINVAL) && src->fmt == NULL)
        ret = VIDX_EREFUSED; /* the whitelist turned the demuxer down */
fail:
    av_dict_free(&opts);
    av_free(target);
    return ret;
}

/* avformat_open_input reports a refused demuxer as EINVAL; tell it apart. */
static int classify_open_error(int ret, const char *url, int network)
{
    if (ret == VIDX_EREFUSED || ret == AVERROR(EINVAL) || ret == AVERROR_INVALIDDATA) {
        const AVInputFormat *probed = NULL;
        if (!network) {
            AVProbeData pd = {0};
            uint8_t buf[2048 + AVPROBE_PADDING_SIZE] = {0};
            FILE *f = fopen(url, "rb");
            if (f) {
                pd.buf_size = (int)fread(buf, 1, 2048, f);
                fclose(f);
                pd.buf = buf;
                pd.filename = url;
                probed = av_probe_input_format(&pd, 1);
            }
        }
        int kind = probed ? vidx__demuxer_kind(probed->name) : VIDX_DEMUX_VIDEO;
        if (kind == VIDX_DEMUX_IMAGE || kind == VIDX_DEMUX_AUDIO)
            return VIDX_ENOVIDEO; /* a photo or a song: not refused, just not a video */
        if (kind == VIDX_DEMUX_OTHER || ret == VIDX_EREFUSED)
            return VIDX_EREFUSED;
        return VIDX_EFORMAT;
    }
    if (network && (ret == AVERROR(ETIMEDOUT) || ret == AVERROR_EXIT || ret == AVERROR(EIO)))
        return ret == AVERROR(EIO) ? VIDX_ENETWORK : AVERROR(ETIMEDOUT);
    return ret;
}

int vidx_source_open(VidxSource **out, const char *url, const VidxSourceSettings *s)
{
    VidxSource *src;
    int ret;

    *out = NULL;
    if (!url || !*url)
        return VIDX_EUSAGE;
    src = av_mallocz(sizeof(*src));
    if (!src)
        return AVERROR(ENOMEM);
    if (s)
        src->settings = *s;
    else
        vidx_source_default_settings(&src->settings);
    src->network = is_url(url);
    src->audio_index = -1;
    src->url = av_strdup(url);
    if (!src->url) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    if (!src->network && (ret = check_local_file(url)) < 0)
        goto fail;
    if ((ret = open_demuxer(src, url)) < 0) {
        ret = classify_open_error(ret, url, src->network);
        goto fail;
    }
    if ((ret = avformat_find_stream_info(src->fmt, NULL)) < 0)
        goto fail;
    ret = pick_streams(src, src->settings.stream);
    if (ret == VIDX_ENOVIDEO && src->settings.audio_only)
        ret = pick_audio_only(src);
    if (ret < 0)
        goto fail;
    if (src->video)
        fill_video_info(src);
    *out = src;
    return 0;
fail:
    vidx_source_close(&src);
    return ret;
}

void vidx_source_close(VidxSource **psrc)
{
    VidxSource *src = psrc ? *psrc : NULL;
    if (!src)
        return;
    avformat_close_input(&src->fmt);
    av_free(src->url);
    av_free(src);
    *psrc = NULL;
}

const VidxVideoInfo *vidx_source_video_info(const VidxSource *src)
{
    return src ? &src->info : NULL;
}

/*
 * Demuxers differ in how (and whether) they seek back to the very first
 * packet, so a second pass reopens the input instead: for a local file that is
 * one header parse. Stream indices are unchanged; the AVStream pointers are
 * new, so callers re-read src->video.
 */
int vidx__source_rewind(VidxSource *src)
{
    if (!src->used)
        return 0;
    avformat_close_input(&src->fmt);
    int ret = open_demuxer(src, src->url);
    if (ret >= 0)
        ret = avformat_find_stream_info(src->fmt, NULL);
    if (ret >= 0 && (unsigned)src->info.stream >= src->fmt->nb_streams)
        ret = VIDX_EDECODE;
    if (ret < 0)
        return ret;
    src->video = src->fmt->streams[src->info.stream];
    src->used = 0;
    return 0;
}
