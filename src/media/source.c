/*
 * source.c - opening inputs safely and learning the video's geometry.
 *
 * Untrusted files must not be able to make FFmpeg read anything but
 * themselves. Local inputs are opened through the "file:" protocol alone and
 * URLs through http/https/tcp/tls alone (s3:// objects through vidx's own
 * reader, net/s3.h, as custom I/O: no FFmpeg protocol at all); on top of that only demuxers that
 * never open further inputs are allowed (a playlist or concat list is
 * refused before it opens anything). See docs/SECURITY.md.
 *
 * Local inputs must be regular files: a FIFO or a device could block the open
 * or the reads for ever. The path is checked with stat(), opened without
 * blocking, checked again on the descriptor, and FFmpeg opens that very
 * descriptor (/proc/self/fd/N), so what was checked is what is read. The
 * file's header is not trusted either: stream count and frame area are
 * bounded before any decoder is opened.
 */
#include "media/source.h"
#include "media/settings.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/avstring.h>
#include <libavutil/display.h>

#include "core/path.h"

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

static const char *file_kind(mode_t m)
{
    return S_ISFIFO(m)   ? "FIFO"
           : S_ISCHR(m)  ? "character device"
           : S_ISBLK(m)  ? "block device"
           : S_ISSOCK(m) ? "socket"
                         : "special file";
}

/* Anything but a regular file is refused, with what it is. */
static int check_mode(const struct stat *st)
{
    if (S_ISDIR(st->st_mode))
        return AVERROR(EISDIR);
    if (!S_ISREG(st->st_mode))
        return vidx__detail(VIDX_ENOTFILE, "%s", file_kind(st->st_mode));
    return 0;
}

/*
 * Opens a local input: stat (precise causes, and a FIFO is never opened), an
 * open that cannot block, fstat on the descriptor (the path may have been
 * swapped meanwhile), then FFmpeg is pointed at the descriptor itself.
 */
static int open_local(VidxSource *src, const char *path)
{
    struct stat st, fst;
    int ret;
    if (stat(path, &st) < 0)
        return AVERROR(errno);
    if ((ret = check_mode(&st)) < 0)
        return ret;
    if ((src->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) < 0)
        return AVERROR(errno);
    if (fstat(src->fd, &fst) < 0)
        return AVERROR(errno);
    if ((ret = check_mode(&fst)) < 0)
        return ret;
    if (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)
        return vidx__detail(VIDX_ENOTFILE, "replaced while being opened");
    if (fst.st_size == 0)
        return VIDX_EEMPTY;
    fcntl(src->fd, F_SETFL, fcntl(src->fd, F_GETFL) & ~O_NONBLOCK);
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src->fd);
    /* Without /proc (unusual), the checked path itself: "file:" so a ':' is no protocol. */
    src->target =
        access(proc, R_OK) == 0 ? av_asprintf("file:%s", proc) : av_asprintf("file:%s", path);
    return src->target ? 0 : AVERROR(ENOMEM);
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

/*
 * The audio stream: the settings.audio_stream-th of the audio streams, or
 * FFmpeg's best one (preferring those related to video stream `related`; -1:
 * any). Sets src->audio_index (-1: the file has no audio).
 */
static int pick_audio(VidxSource *src, int related)
{
    AVFormatContext *fmt = src->fmt;
    int wanted = src->settings.audio_stream, n = 0;
    src->audio_index = -1;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        if (fmt->streams[i]->codecpar->codec_type != AVMEDIA_TYPE_AUDIO)
            continue;
        if (n++ == wanted)
            src->audio_index = (int)i;
    }
    if (wanted < 0) {
        int idx = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, related, NULL, 0);
        src->audio_index = idx >= 0 ? idx : -1;
    } else if (n > 0 && src->audio_index < 0) {
        return vidx__detail(VIDX_ERANGE, "--audio-stream %d: the file has %d audio stream%s",
                            wanted, n, n == 1 ? "" : "s");
    }
    return 0;
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
    int ret = pick_audio(src, idx);
    if (ret < 0)
        return ret;
    const AVCodecParameters *par = src->video->codecpar;
    if (!avcodec_find_decoder(par->codec_id))
        return AVERROR_DECODER_NOT_FOUND;
    if (par->width <= 0 || par->height <= 0)
        return VIDX_EDECODE;
    if ((int64_t)par->width * par->height > src->settings.max_pixels)
        return vidx__detail(VIDX_ELIMIT, "frame area %dx%d exceeds --max-pixels (%lld)", par->width,
                            par->height, (long long)src->settings.max_pixels);
    return 0;
}

/* More streams than allowed: refused before they cost a decoder each. */
static int check_streams(const VidxSource *src)
{
    unsigned n = src->fmt->nb_streams;
    if (src->settings.max_streams > 0 && n > (unsigned)src->settings.max_streams)
        return vidx__detail(VIDX_ELIMIT, "%u streams exceed --max-streams (%d)", n,
                            src->settings.max_streams);
    return 0;
}

/*
 * FFmpeg calls this around every read, and also while a network read waits:
 * only bytes that arrived count as progress. It never interrupts anything.
 */
static int on_interrupt(void *opaque)
{
    VidxSource *src = opaque;
    const AVIOContext *pb = src->fmt ? src->fmt->pb : NULL;
    if (pb && pb->bytes_read != src->bytes_seen) {
        src->bytes_seen = pb->bytes_read;
        vidx__source_progress(src);
    }
    return 0;
}

/*
 * settings.audio_only: a file without a video stream (or whose only picture
 * is cover art) is taken for its audio; info.stream is -1.
 */
static int pick_audio_only(VidxSource *src)
{
    int ret = pick_audio(src, -1), idx = src->audio_index;
    if (ret < 0)
        return ret;
    if (idx < 0)
        return VIDX_ENOVIDEO;
    const AVStream *st = src->fmt->streams[idx];
    src->video = NULL;
    memset(&src->info, 0, sizeof(src->info));
    src->info.stream = -1;
    src->info.duration = st->duration != AV_NOPTS_VALUE ? ts_seconds(st->duration, st->time_base)
                         : src->fmt->duration > 0       ? src->fmt->duration / 1e6
                                                        : -1.0;
    src->info.frames = -1;
    src->info.has_audio = 1;
    return 0;
}

static int s3_read(void *opaque, uint8_t *buf, int n)
{
    int ret = vidx__s3_reader_read(opaque, buf, n);
    return ret == 0 ? AVERROR_EOF : ret;
}

static int64_t s3_seek(void *opaque, int64_t pos, int whence)
{
    S3Reader *r = opaque;
    if (whence & AVSEEK_SIZE)
        return vidx__s3_reader_size(r);
    if ((whence & ~AVSEEK_FORCE) != SEEK_SET)
        return AVERROR(EINVAL); /* avio turns SEEK_CUR into SEEK_SET itself */
    return vidx__s3_reader_seek(r, pos);
}

/* s3:// inputs: FFmpeg reads the object through an AVIOContext over the S3 reader. */
static int s3_io(VidxSource *src)
{
    if (!src->s3) {
        int ret = vidx__s3_reader_open(&src->s3, src->url);
        if (ret < 0)
            return ret;
    }
    if (src->pb) {
        vidx__s3_reader_seek(src->s3, 0);
        avio_flush(src->pb);
        if (avio_seek(src->pb, 0, SEEK_SET) < 0)
            return AVERROR(EIO);
    } else {
        const int size = 65536;
        uint8_t *buf = av_malloc(size);
        src->pb = buf ? avio_alloc_context(buf, size, 0, src->s3, s3_read, NULL, s3_seek) : NULL;
        if (!src->pb) {
            av_free(buf);
            return AVERROR(ENOMEM);
        }
    }
    src->fmt->pb = src->pb;
    src->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    return 0;
}

static int open_demuxer(VidxSource *src)
{
    AVDictionary *opts = NULL;
    int ret = AVERROR(ENOMEM);

    src->fmt = avformat_alloc_context();
    if (!src->fmt)
        return AVERROR(ENOMEM);
    src->fmt->protocol_whitelist = av_strdup(src->s3 || vidx__s3_is_url(src->url) ? "none"
                                             : src->network ? "http,https,tcp,tls"
                                                            : "file");
    src->fmt->format_whitelist = src->settings.audio_only
                                     ? av_asprintf("%s,%s", safe_demuxers, audio_demuxers)
                                     : av_strdup(safe_demuxers);
    if (!src->fmt->protocol_whitelist || !src->fmt->format_whitelist)
        goto fail;
    if (src->settings.on_progress)
        src->fmt->interrupt_callback = (AVIOInterruptCB){on_interrupt, src};
    src->bytes_seen = 0;
    /* FFmpeg's own stream cap (its default, or more if asked): vidx's is checked after. */
    src->fmt->max_streams = VIDX_MAX(src->settings.max_streams, 1000);
    if (vidx__s3_is_url(src->url) && (ret = s3_io(src)) < 0)
        goto fail;
    if (src->network) {
        int64_t us = (int64_t)(src->settings.network_timeout * 1e6);
        av_dict_set_int(&opts, "rw_timeout", us, 0);
        av_dict_set_int(&opts, "timeout", us, 0);
        av_dict_set(&opts, "reconnect", "0", 0);
    }
    ret = avformat_open_input(&src->fmt, src->target, NULL, &opts);
    if (ret == AVERROR(EINVAL) && src->fmt == NULL)
        ret = VIDX_EREFUSED; /* the whitelist turned the demuxer down */
    if (ret >= 0)
        ret = check_streams(src);
fail:
    av_dict_free(&opts);
    return ret;
}

/*
 * Learns the streams' parameters, decoding a little of each: one thread per
 * stream (not one per core: that made a file of 1,000 tracks take 1.5 GB).
 */
static int find_stream_info(VidxSource *src)
{
    unsigned n = src->fmt->nb_streams;
    AVDictionary **opts = n ? av_calloc(n, sizeof(*opts)) : NULL;
    if (n && !opts)
        return AVERROR(ENOMEM);
    for (unsigned i = 0; i < n; i++)
        av_dict_set(&opts[i], "threads", "1", 0);
    int ret = avformat_find_stream_info(src->fmt, opts);
    for (unsigned i = 0; i < n; i++)
        av_dict_free(&opts[i]);
    av_free(opts);
    return ret < 0 ? ret : check_streams(src);
}

/*
 * Demuxers return odd errno values for headers they reject (EBUSY, ERANGE...):
 * for a regular file that was opened, anything but these is about the content.
 */
static int odd_errno(int ret)
{
    static const int io[] = {ENOENT, EACCES, EPERM, EISDIR, ENOMEM, EIO, ENOSPC, EINTR, ENXIO};
    if (ret >= 0 || ret <= -4096 || ret == AVERROR_EOF)
        return 0;
    for (size_t i = 0; i < VIDX_ARRAY_SIZE(io); i++)
        if (ret == AVERROR(io[i]))
            return 0;
    return 1;
}

/*
 * What FFmpeg's probe makes of the first bytes of the checked file, when it is
 * confident: a low score is a guess on noise (random bytes "look like" MP3 or
 * some raw format at score 1-25), not a recognised format.
 */
static const AVInputFormat *confident_probe(const VidxSource *src)
{
    AVProbeData pd = {0};
    uint8_t buf[4096 + AVPROBE_PADDING_SIZE] = {0};
    int score = 0;
    FILE *f = fopen(src->target + 5, "rb"); /* the checked file, past "file:" */
    if (!f)
        return NULL;
    pd.buf_size = (int)fread(buf, 1, 4096, f);
    fclose(f);
    pd.buf = buf;
    pd.filename = src->url;
    const AVInputFormat *fmt = av_probe_input_format3(&pd, 1, &score);
    return score > AVPROBE_SCORE_RETRY ? fmt : NULL;
}

/*
 * avformat_open_input reports a refused demuxer as EINVAL and a header it
 * cannot read as INVALIDDATA. Tell apart a photo or a song (not a video), a
 * playlist or another refused demuxer, a video file whose header cannot be
 * read although its content is recognised (an MP4 cut before its moov:
 * truncated) and data no demuxer recognises (not media).
 */
static int classify_open_error(int ret, const VidxSource *src)
{
    int network = src->network;
    if (ret == VIDX_EREFUSED || ret == AVERROR(EINVAL) || ret == AVERROR_INVALIDDATA) {
        const AVInputFormat *probed = network ? NULL : confident_probe(src);
        int kind = probed ? vidx__demuxer_kind(probed->name) : VIDX_DEMUX_VIDEO;
        if (kind == VIDX_DEMUX_IMAGE || kind == VIDX_DEMUX_AUDIO)
            return VIDX_ENOVIDEO; /* a photo or a song: not refused, just not a video */
        if (kind == VIDX_DEMUX_OTHER || (ret == VIDX_EREFUSED && (probed || network)))
            return VIDX_EREFUSED;
        if (probed && ret == AVERROR_INVALIDDATA)
            return vidx__detail(VIDX_ETRUNCATED, "a %s file whose header cannot be read",
                                probed->long_name ? probed->long_name : probed->name);
        return VIDX_EFORMAT;
    }
    if (network && (ret == AVERROR(ETIMEDOUT) || ret == AVERROR_EXIT || ret == AVERROR(EIO)))
        return ret == AVERROR(EIO) ? VIDX_ENETWORK : AVERROR(ETIMEDOUT);
    if (!network && odd_errno(ret)) /* e.g. EBUSY for a Y4M header asking for a huge frame */
        return vidx__detail(VIDX_EFORMAT, "invalid header (the demuxer said: %s)",
                            vidx_strerror(ret));
    return ret;
}

int vidx_source_open(VidxSource **out, const char *url, const VidxSourceSettings *s)
{
    VidxSource *src;
    VidxSourceSettings set;
    int ret;

    *out = NULL;
    vidx__detail_clear();
    if (!url || !*url)
        return VIDX_EUSAGE;
    vidx__source_defaults(&set);
    if (s && (ret = vidx__abi_import(&vidx__source_layout, &set, s)) < 0)
        return ret;
    src = av_mallocz(sizeof(*src));
    if (!src)
        return AVERROR(ENOMEM);
    src->settings = set;
    src->network = vidx__is_url(url);
    src->audio_index = -1;
    src->fd = -1;
    src->url = av_strdup(url);
    if (!src->url) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    if (src->network)
        ret = (src->target = av_strdup(url)) ? 0 : AVERROR(ENOMEM);
    else
        ret = open_local(src, url);
    if (ret < 0)
        goto fail;
    if ((ret = open_demuxer(src)) < 0) {
        ret = classify_open_error(ret, src);
        goto fail;
    }
    if ((ret = find_stream_info(src)) < 0)
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
    if (src->pb) {
        av_freep(&src->pb->buffer);
        avio_context_free(&src->pb);
    }
    vidx__s3_reader_close(&src->s3);
    if (src->fd >= 0)
        close(src->fd);
    av_free(src->url);
    av_free(src->target);
    av_free(src);
    *psrc = NULL;
}

void vidx__source_progress(VidxSource *src)
{
    const VidxSourceSettings *s = &src->settings;
    double now;
    if (!s->on_progress || (now = vidx__now()) - src->progress_at < 0.2)
        return;
    src->progress_at = now;
    s->on_progress(s->progress_opaque);
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
    int ret = open_demuxer(src);
    if (ret >= 0)
        ret = find_stream_info(src);
    /* an audio-only source (settings.audio_only) has no video stream: info.stream -1 */
    if (ret >= 0 && src->info.stream >= 0 && (unsigned)src->info.stream >= src->fmt->nb_streams)
        ret = VIDX_EDECODE;
    if (ret < 0)
        return ret;
    src->video = src->info.stream >= 0 ? src->fmt->streams[src->info.stream] : NULL;
    src->used = 0;
    return 0;
}
