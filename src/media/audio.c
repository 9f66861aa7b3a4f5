/*
 * audio.c - audio decode + resample in the same pass as video.
 *
 * Speech models want 16 kHz mono s16; the resampler (libswresample) does the
 * downmix and rate change. Damaged audio packets are counted and skipped: the
 * audio track must never cost the video its frames.
 *
 * Sample accuracy: each decoded frame is placed by its timestamp on one
 * timeline whose 0 is the file's start (vidx__audio_origin). Input samples
 * are counted from that 0; a frame that starts later than the count says (a
 * leading offset, a gap) is preceded by silence, one that starts earlier (an
 * overlap, samples before 0) loses its head. Deviations within a tolerance
 * (a tick of the stream's time base, or 2 samples) are timestamp rounding
 * and pass unchanged. The last frame is cut at the stream's declared end
 * (start_time + duration: an encoder's padding, e.g. AAC's, is not audio)
 * when that end falls inside it. The resampler then sees one continuous
 * signal, so the output's length is the stream's end time at the output rate.
 *
 * A jump of more than MAX_JUMP_S is taken for a timestamp discontinuity (a
 * reset, as MPEG-TS has at splices), not for a gap or an overlap, and the
 * samples stay contiguous: backwards always, forwards in formats that may
 * have discontinuities (AVFMT_TS_DISCONT) or past the stream's declared end.
 * So a broken timestamp can neither drop the rest of the audio nor fill the
 * disk with hours of silence.
 */
#include "media/audio.h"

#include <errno.h>

#include <libavcodec/avcodec.h>
#include <libswresample/swresample.h>

#include "media/source.h"

struct VidxAudio {
    AVCodecContext *dec;
    SwrContext *swr;
    AVFrame *frame;
    VidxAudioSettings set;
    uint8_t *buf;
    int buf_samples;
    int64_t errors;
    int64_t origin;   /* the timeline's 0, in the stream's time base */
    AVRational tb;    /* the stream's */
    int64_t expected; /* input samples placed so far: where the next frame should start */
    int64_t tol;      /* in input samples: a difference up to this is rounding */
    uint8_t *silence; /* one buffer of silence in the decoder's format */
    AVFrame *pending; /* the last decoded frame, held until it is known not to be the last */
    int64_t end;      /* the stream's declared end in input samples; INT64_MAX: unknown */
    int discont;      /* the format may reset its timestamps (AVFMT_TS_DISCONT) */
};

#define SILENCE_SAMPLES         4096
#define MAX_JUMP_S              10
#define VIDX_AUDIO_MAX_CHANNELS 64 /* more is refused (AVERROR_PATCHWELCOME) */

int64_t vidx__audio_origin(const AVFormatContext *fmt)
{
    return fmt->start_time != AV_NOPTS_VALUE && fmt->start_time > 0 ? fmt->start_time : 0;
}

int vidx__audio_discont(const AVFormatContext *fmt)
{
    return fmt->iformat && (fmt->iformat->flags & AVFMT_TS_DISCONT);
}

static int open_resampler(VidxAudio *a)
{
    AVChannelLayout out_layout;
    av_channel_layout_default(&out_layout, a->set.channels);
    AVChannelLayout in_layout = a->dec->ch_layout;
    if (in_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&in_layout, in_layout.nb_channels);
    int ret = swr_alloc_set_opts2(&a->swr, &out_layout, AV_SAMPLE_FMT_S16, a->set.sample_rate,
                                  &in_layout, a->dec->sample_fmt, a->dec->sample_rate, 0, NULL);
    if (ret >= 0)
        ret = swr_init(a->swr);
    return ret;
}

int vidx__audio_open(VidxAudio **out, const AVStream *st, int64_t origin, int discont,
                     const VidxAudioSettings *s)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    VidxAudio *a;
    int ret;

    *out = NULL;
    if (!codec)
        return AVERROR_DECODER_NOT_FOUND;
    if (!(a = av_mallocz(sizeof(*a))))
        return AVERROR(ENOMEM);
    a->set = *s;
    a->discont = discont;
    a->tb = st->time_base;
    a->origin = av_rescale_q(origin, AV_TIME_BASE_Q, st->time_base);
    a->end = st->duration > 0
                 ? (st->start_time != AV_NOPTS_VALUE ? st->start_time : 0) + st->duration
                 : INT64_MAX;
    if (a->set.sample_rate <= 0)
        a->set.sample_rate = 16000;
    if (a->set.channels <= 0)
        a->set.channels = 1;
    ret = AVERROR(ENOMEM);
    if (!(a->dec = avcodec_alloc_context3(codec)) || !(a->frame = av_frame_alloc()))
        goto fail;
    if ((ret = avcodec_parameters_to_context(a->dec, st->codecpar)) < 0)
        goto fail;
    a->dec->pkt_timebase = st->time_base;
    a->dec->thread_count = 1;
    if ((ret = avcodec_open2(a->dec, codec, NULL)) < 0 || !(a->pending = av_frame_alloc()))
        goto fail;
    if (a->dec->sample_rate <= 0 || a->dec->ch_layout.nb_channels <= 0) {
        ret = AVERROR_INVALIDDATA;
        goto fail;
    }
    if (a->dec->ch_layout.nb_channels > VIDX_AUDIO_MAX_CHANNELS) {
        ret = AVERROR_PATCHWELCOME;
        goto fail;
    }
    a->tol = 2 + av_rescale(a->dec->sample_rate, a->tb.num, a->tb.den);
    if (a->end != INT64_MAX)
        a->end =
            av_rescale(a->end - a->origin, (int64_t)a->tb.num * a->dec->sample_rate, a->tb.den);
    *out = a;
    return 0;
fail:
    vidx__audio_close(&a);
    return ret;
}

/* Resamples n input samples (planes NULL: flush) and hands them to the callback. */
static int deliver(VidxAudio *a, const uint8_t **planes, int n_in)
{
    if (!a->swr) {
        int ret = open_resampler(a);
        if (ret < 0)
            return ret;
    }
    int want = swr_get_out_samples(a->swr, n_in);
    if (want <= 0)
        return 0;
    if (want > a->buf_samples) {
        av_freep(&a->buf);
        if (av_samples_alloc(&a->buf, NULL, a->set.channels, want, AV_SAMPLE_FMT_S16, 0) < 0)
            return AVERROR(ENOMEM);
        a->buf_samples = want;
    }
    int n = swr_convert(a->swr, &a->buf, want, planes, n_in);
    if (n < 0)
        return n;
    return n > 0 ? a->set.callback(a->set.opaque, (const int16_t *)a->buf, n) : 0;
}

/* n samples of silence in the decoder's format, ahead of a frame that starts late. */
static int pad_silence(VidxAudio *a, int64_t n)
{
    int ch = a->dec->ch_layout.nb_channels;
    int planar = av_sample_fmt_is_planar(a->dec->sample_fmt);
    if (!a->silence) { /* one plane's worth: every plane reads the same silence */
        int size = av_samples_get_buffer_size(NULL, planar ? 1 : ch, SILENCE_SAMPLES,
                                              a->dec->sample_fmt, 1);
        if (size < 0 || !(a->silence = av_malloc(size)))
            return AVERROR(ENOMEM);
        av_samples_set_silence(&a->silence, 0, SILENCE_SAMPLES, planar ? 1 : ch,
                               av_get_packed_sample_fmt(a->dec->sample_fmt));
    }
    const uint8_t *planes[VIDX_AUDIO_MAX_CHANNELS];
    for (int c = 0; c < (planar ? ch : 1); c++)
        planes[c] = a->silence;
    while (n > 0) {
        int k = (int)VIDX_MIN(n, SILENCE_SAMPLES);
        int ret = deliver(a, planes, k);
        if (ret < 0)
            return ret;
        n -= k;
    }
    return 0;
}

/* Where f starts, in input samples from the origin; INT64_MIN when it has no timestamp. */
static int64_t frame_start(const VidxAudio *a, const AVFrame *f)
{
    int64_t pts = f->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE)
        return INT64_MIN;
    return av_rescale(pts - a->origin, (int64_t)a->tb.num * a->dec->sample_rate, a->tb.den);
}

static int is_discontinuity(const VidxAudio *a, int64_t start)
{
    int64_t jump = start - a->expected, max = (int64_t)MAX_JUMP_S * a->dec->sample_rate;
    if (jump < -max)
        return 1;
    return jump > max && (a->discont || a->end == INT64_MAX || start > a->end);
}

/*
 * Places f on the timeline: silence before a late frame, an early one's head
 * dropped; the last frame (last) loses what lies past the declared end.
 */
static int place_frame(VidxAudio *a, const AVFrame *f, int last)
{
    int64_t start = frame_start(a, f), skip = 0, n = f->nb_samples;
    int ret = 0;
    if (start != INT64_MIN && is_discontinuity(a, start))
        start = a->expected; /* a reset, not a gap: contiguous */
    if (start != INT64_MIN && start > a->expected + a->tol) {
        ret = pad_silence(a, start - a->expected);
        a->expected = start;
    } else if (start != INT64_MIN && start < a->expected - a->tol) {
        skip = VIDX_MIN(a->expected - start, (int64_t)f->nb_samples);
    }
    if (last && a->end > a->expected && a->end < a->expected + n - skip)
        n = a->end - a->expected + skip; /* padding past the end, not a header that lied */
    if (ret < 0 || skip >= n)
        return ret;
    const uint8_t *planes[VIDX_AUDIO_MAX_CHANNELS];
    int ch = f->ch_layout.nb_channels, bps = av_get_bytes_per_sample(f->format);
    int planar = av_sample_fmt_is_planar(f->format);
    for (int c = 0; c < (planar ? ch : 1); c++)
        planes[c] = f->extended_data[c] + skip * bps * (planar ? 1 : ch);
    a->expected += n - skip;
    return deliver(a, planes, (int)(n - skip));
}

/* Places the frame held before, and holds the new one (a->frame) in its stead. */
static int hold_frame(VidxAudio *a)
{
    int ret = a->pending->nb_samples > 0 ? place_frame(a, a->pending, 0) : 0;
    av_frame_unref(a->pending);
    av_frame_move_ref(a->pending, a->frame);
    return ret;
}

int vidx__audio_packet(VidxAudio *a, const AVPacket *pkt)
{
    int ret = avcodec_send_packet(a->dec, pkt);
    if (ret < 0 && ret != AVERROR_EOF) {
        a->errors++;
        return 0;
    }
    for (;;) {
        ret = avcodec_receive_frame(a->dec, a->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            break;
        if (ret < 0) {
            a->errors++;
            break;
        }
        ret = a->frame->ch_layout.nb_channels == a->dec->ch_layout.nb_channels &&
                      a->frame->sample_rate == a->dec->sample_rate &&
                      a->frame->format == a->dec->sample_fmt
                  ? hold_frame(a)
                  : 0; /* mid-stream format change: skip rather than mis-resample */
        av_frame_unref(a->frame);
        if (ret < 0)
            return ret;
    }
    if (!pkt && a->pending->nb_samples > 0) {
        ret = place_frame(a, a->pending, 1);
        av_frame_unref(a->pending);
        if (ret < 0)
            return ret;
    }
    if (!pkt && a->swr)
        return deliver(a, NULL, 0);
    return 0;
}

int64_t vidx__audio_errors(const VidxAudio *a)
{
    return a->errors;
}

void vidx__audio_close(VidxAudio **pa)
{
    VidxAudio *a = pa ? *pa : NULL;
    if (!a)
        return;
    avcodec_free_context(&a->dec);
    swr_free(&a->swr);
    av_frame_free(&a->frame);
    av_frame_free(&a->pending);
    av_freep(&a->buf);
    av_freep(&a->silence);
    av_free(a);
    *pa = NULL;
}

int vidx__audio_decode_all(VidxSource *src, const VidxAudioSettings *s, int64_t *errors)
{
    VidxAudio *a = NULL;
    AVPacket *pkt = av_packet_alloc();
    int ret = pkt ? vidx__audio_open(&a, src->fmt->streams[src->audio_index],
                                     vidx__audio_origin(src->fmt), vidx__audio_discont(src->fmt), s)
                  : AVERROR(ENOMEM);
    src->used = 1;
    for (unsigned i = 0; i < src->fmt->nb_streams; i++) /* the demuxer skips the rest */
        src->fmt->streams[i]->discard =
            (int)i == src->audio_index ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    while (ret >= 0) {
        if ((ret = av_read_frame(src->fmt, pkt)) == AVERROR(EAGAIN)) {
            ret = 0;
            continue;
        }
        if (ret >= 0 && pkt->stream_index == src->audio_index)
            ret = vidx__audio_packet(a, pkt);
        av_packet_unref(pkt);
    }
    if (ret == AVERROR_EOF)
        ret = vidx__audio_packet(a, NULL);
    *errors = a ? vidx__audio_errors(a) : 0;
    vidx__audio_close(&a);
    av_packet_free(&pkt);
    return ret;
}

int vidx_audio_decode(VidxSource *src, const VidxAudioSettings *audio, int64_t *decode_errors)
{
    int64_t errors = 0;
    int ret;
    vidx__detail_clear();
    if (decode_errors)
        *decode_errors = 0;
    if (!src || !audio || !audio->callback)
        return VIDX_EUSAGE;
    if (src->audio_index < 0)
        return vidx__detail(VIDX_EFORMAT, "the file has no audio stream");
    VidxAudioSettings s = *audio;
    s.enabled = 1;
    if ((ret = vidx__source_rewind(src)) < 0)
        return ret;
    ret = vidx__audio_decode_all(src, &s, &errors);
    if (decode_errors)
        *decode_errors = errors;
    return ret;
}
