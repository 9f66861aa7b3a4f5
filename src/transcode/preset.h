/*
 * preset.h - what a transcode makes (docs/CLOUD.md, "Presets"): one JSON
 * object per preset, built-in ones by name, others read from a file. Every
 * field is checked (type and range) with the file and field named.
 */
#ifndef VIDX_TRANSCODE_PRESET_H
#define VIDX_TRANSCODE_PRESET_H

#include <stddef.h>
#include <stdint.h>

#define TC_MAX_RENDITIONS 8

typedef struct TcRendition {
    char name[32];   /* its folder (hls) or file name (mp4) */
    int height;      /* output height; the width follows the display aspect */
    int64_t bitrate; /* bits/s (0: crf) */
    int64_t maxrate, bufsize;
    int crf; /* when bitrate is 0 */
} TcRendition;

typedef struct TcPreset {
    char name[64];
    char description[160];
    int hls;                /* 1: HLS (fMP4 segments, playlists); 0: one MP4 per rendition */
    double segment_seconds; /* hls */
    double gop_seconds;     /* keyframe interval, the same for every rendition */
    char x264_preset[16];
    TcRendition r[TC_MAX_RENDITIONS];
    int n;
    int audio_bitrate, audio_rate, audio_channels;
    int loudnorm;                     /* EBU R128 (libavfilter loudnorm) */
    double loud_i, loud_tp, loud_lra; /* target integrated loudness, true peak, range */
    double sprite_interval;           /* seconds between thumbnails; 0: no sprites */
    int sprite_width, sprite_columns, sprite_rows;
} TcPreset;

/* name: a built-in preset, or a path (contains '/' or ends in .json). VIDX_EUSAGE with detail. */
int vidx__tc_preset_load(const char *name, TcPreset *p);
/* A preset file's text (len bytes; src names it in messages). VIDX_EUSAGE with detail. */
int vidx__tc_preset_parse(const char *text, size_t len, const char *src, TcPreset *p);
/* Every field that shapes the outputs (not the description), as one line of
 * text: equal texts, equal outputs (the options hash of vidx run --transcode). */
void vidx__tc_preset_text(const TcPreset *p, char *buf, size_t size);
/* The built-in presets' JSON text (an array). */
const char *vidx__tc_builtin_json(void);

#endif /* VIDX_TRANSCODE_PRESET_H */
