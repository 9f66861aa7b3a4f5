/*
 * kind.c - sorts the files of a directory walk into videos and the rest, so
 * that a folder of photos, music and notes beside the videos is a normal
 * folder (skipped and counted by kind), not a list of failures. The
 * extension decides when it is a known one (no read at all); a file without
 * one, or with an unknown one, is sniffed: the first 4 KiB go through
 * FFmpeg's format probe, and the demuxer that recognises them says what the
 * file is (image pipes and image2: a still image; audio-only demuxers: audio;
 * a demuxer vidx opens: video; anything else, or nothing: other).
 */
#include "batch/kind.h"

#include <stdio.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/avstring.h>

#include "media/source.h"

static const char video_exts[] = "mp4,m4v,mov,mkv,webm,avi,flv,ts,m2ts,mts,3gp,3g2,mpg,mpeg,wmv,"
                                 "asf,ogv,mxf,vob,y4m,ivf,h264,hevc,265";
static const char image_exts[] = "jpg,jpeg,jpe,jfif,png,gif,webp,bmp,tif,tiff,heic,heif,avif,jxl,"
                                 "svg,ico,psd,tga,exr,hdr,jp2,j2k,dng,cr2,cr3,nef,arw,orf,rw2,raf,"
                                 "srw,pef";
static const char audio_exts[] = "mp3,wav,flac,aac,m4a,m4b,ogg,oga,opus,wma,aif,aiff,aifc,ape,alac,"
                                 "wv,amr,au,caf,mka,mpc,ac3,dts,tta,dsf,dff,mid,midi";

/* 1 when name's extension, in any case, is in list. */
static int has_extension(const char *name, const char *list)
{
    const char *dot = strrchr(name, '.');
    char lower[16];
    size_t i = 0;
    if (!dot)
        return 0;
    for (dot++; *dot && i < sizeof(lower) - 1; dot++)
        lower[i++] = (char)av_tolower((unsigned char)*dot);
    lower[i] = 0;
    return *dot == 0 && i > 0 && !strchr(lower, ',') && av_match_list(lower, list, ',') > 0;
}

int vidx__video_extension(const char *name)
{
    return has_extension(name, video_exts);
}

InputKind vidx__input_kind_by_name(const char *name)
{
    if (has_extension(name, video_exts))
        return INPUT_VIDEO;
    if (has_extension(name, image_exts))
        return INPUT_IMAGE;
    if (has_extension(name, audio_exts))
        return INPUT_AUDIO;
    return INPUT_OTHER; /* unknown: sniffed */
}

static InputKind sniff(const char *path)
{
    unsigned char buf[4096 + AVPROBE_PADDING_SIZE] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return INPUT_OTHER;
    size_t n = fread(buf, 1, 4096, f);
    fclose(f);
    if (n < 16)
        return INPUT_OTHER;
    AVProbeData pd = {.filename = "", .buf = buf, .buf_size = (int)n};
    int score = 0;
    const AVInputFormat *fmt = av_probe_input_format2(&pd, 1, &score);
    if (!fmt || score < AVPROBE_SCORE_MAX / 2)
        return INPUT_OTHER;
    switch (vidx__demuxer_kind(fmt->name)) {
    case VIDX_DEMUX_VIDEO:
        return INPUT_VIDEO;
    case VIDX_DEMUX_IMAGE:
        return INPUT_IMAGE;
    case VIDX_DEMUX_AUDIO:
        return INPUT_AUDIO;
    }
    return INPUT_OTHER;
}

InputKind vidx__input_kind(const char *path, const char *name)
{
    InputKind k = vidx__input_kind_by_name(name);
    return k == INPUT_OTHER ? sniff(path) : k;
}
