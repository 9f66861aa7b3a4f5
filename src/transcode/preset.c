/*
 * preset.c - see preset.h. The file format is the built-ins' own: a JSON
 * object (or an array of them, the first used) with
 *   name, description            strings
 *   format                       "mp4" (one faststart MP4 per rendition) or "hls"
 *   segment_seconds              hls segment length, 1-60 (default 4)
 *   gop_seconds                  keyframe interval, 0.1-10 (default 2); a segment
 *                                length that is not a multiple of it is refused
 *   x264_preset                  ultrafast ... veryslow (default "veryfast")
 *   renditions                   1-8 of {name, height 16-4320, and bitrate (bits/s,
 *                                maxrate and bufsize default 1.5x and 2x it) or crf 0-51}
 *   audio                        {bitrate 16000-512000, rate 8000-96000, channels 1-2}
 *   loudnorm                     {i -70..-5, tp -9..0, lra 1-50}, or true (-23, -1, 7)
 *   sprites                      {interval 0.1-3600 s, width 16-1920, columns, rows 1-20}
 * Unknown keys are refused (a typo must not pass silently).
 */
#include "transcode/preset.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

static const char builtins[] =
    "[{\"name\": \"proxy\", \"description\": \"one 720p H.264/AAC MP4 (faststart) for editing "
    "and review\", \"format\": \"mp4\", \"gop_seconds\": 2, \"x264_preset\": \"veryfast\","
    " \"renditions\": [{\"name\": \"proxy\", \"height\": 720, \"crf\": 23}],"
    " \"audio\": {\"bitrate\": 128000, \"rate\": 48000, \"channels\": 2}},"
    " {\"name\": \"hls\", \"description\": \"HLS ladder 1080p/720p/360p, fMP4 segments of 4 s, "
    "keyframes every 2 s, sprites every 5 s\", \"format\": \"hls\", \"segment_seconds\": 4,"
    " \"gop_seconds\": 2, \"x264_preset\": \"veryfast\", \"renditions\": ["
    "{\"name\": \"1080p\", \"height\": 1080, \"bitrate\": 5000000},"
    " {\"name\": \"720p\", \"height\": 720, \"bitrate\": 2800000},"
    " {\"name\": \"360p\", \"height\": 360, \"bitrate\": 800000}],"
    " \"audio\": {\"bitrate\": 128000, \"rate\": 48000, \"channels\": 2},"
    " \"sprites\": {\"interval\": 5, \"width\": 160, \"columns\": 10, \"rows\": 10}},"
    " {\"name\": \"hls-loudnorm\", \"description\": \"the hls preset with EBU R128 loudness "
    "normalisation (-23 LUFS, -1 dBTP)\", \"format\": \"hls\", \"segment_seconds\": 4,"
    " \"gop_seconds\": 2, \"x264_preset\": \"veryfast\", \"renditions\": ["
    "{\"name\": \"1080p\", \"height\": 1080, \"bitrate\": 5000000},"
    " {\"name\": \"720p\", \"height\": 720, \"bitrate\": 2800000},"
    " {\"name\": \"360p\", \"height\": 360, \"bitrate\": 800000}],"
    " \"audio\": {\"bitrate\": 128000, \"rate\": 48000, \"channels\": 2},"
    " \"loudnorm\": true,"
    " \"sprites\": {\"interval\": 5, \"width\": 160, \"columns\": 10, \"rows\": 10}}]";

const char *vidx__tc_builtin_json(void)
{
    return builtins;
}

typedef struct Ctx {
    const char *src; /* the file, or "built-in preset" */
    const char *where;
} Ctx;

static int bad(const Ctx *c, const char *field, const char *why)
{
    return vidx__detail(VIDX_EUSAGE, "%s: %s%s%s: %s", c->src, c->where ? c->where : "",
                        c->where ? "." : "", field, why);
}

/* Number field (absent: *v unchanged); range checked. */
static int num(const Ctx *c, json_t *o, const char *key, double lo, double hi, double *v)
{
    json_t *x = json_object_get(o, key);
    if (!x)
        return 0;
    if (!json_is_number(x))
        return bad(c, key, "must be a number");
    double d = json_number_value(x);
    if (!(d >= lo && d <= hi)) {
        char why[96];
        snprintf(why, sizeof(why), "%g is outside %g to %g", d, lo, hi);
        return bad(c, key, why);
    }
    *v = d;
    return 0;
}

static int inum(const Ctx *c, json_t *o, const char *key, double lo, double hi, int64_t *v)
{
    double d = (double)*v;
    int ret = num(c, o, key, lo, hi, &d);
    if (ret == 0 && d != floor(d))
        return bad(c, key, "must be a whole number");
    *v = (int64_t)d;
    return ret;
}

static int str(const Ctx *c, json_t *o, const char *key, char *out, size_t size, int name)
{
    json_t *x = json_object_get(o, key);
    if (!x)
        return 0;
    const char *s = json_string_value(x);
    if (!s || strlen(s) >= size || (name && !*s))
        return bad(c, key, "must be a string (of a sensible length)");
    for (const char *p = s; name && *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return bad(c, key, "may hold only letters, digits, - and _");
    snprintf(out, size, "%s", s);
    return 0;
}

static int only_keys(const Ctx *c, json_t *o, const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        int known = 0;
        for (const char *const *p = keys; *p && !known; p++)
            known = !strcmp(*p, k);
        if (!known)
            return bad(c, k, "unknown field");
    }
    (void)v;
    return 0;
}

static int rendition(Ctx *c, json_t *o, TcRendition *r)
{
    static const char *const keys[] = {"name",    "height", "bitrate", "maxrate",
                                       "bufsize", "crf",    NULL};
    int64_t h = 0, br = 0, mr = 0, bs = 0, crf = 23;
    int ret = json_is_object(o) ? only_keys(c, o, keys) : bad(c, "renditions", "not an object");
    if (ret == 0)
        ret = str(c, o, "name", r->name, sizeof(r->name), 1);
    if (ret == 0 && !*r->name)
        ret = bad(c, "name", "missing");
    if (ret == 0)
        ret = inum(c, o, "height", 16, 4320, &h);
    if (ret == 0 && !h)
        ret = bad(c, "height", "missing");
    if (ret == 0)
        ret = inum(c, o, "bitrate", 10000, 200e6, &br);
    if (ret == 0)
        ret = inum(c, o, "maxrate", 10000, 400e6, &mr);
    if (ret == 0)
        ret = inum(c, o, "bufsize", 10000, 800e6, &bs);
    if (ret == 0)
        ret = inum(c, o, "crf", 0, 51, &crf);
    r->height = (int)h & ~1;
    r->bitrate = br;
    r->maxrate = br ? (mr ? mr : br * 3 / 2) : 0;
    r->bufsize = br ? (bs ? bs : br * 2) : 0;
    r->crf = (int)crf;
    return ret;
}

static int sections(Ctx *c, json_t *o, TcPreset *p)
{
    json_t *a = json_object_get(o, "audio"), *l = json_object_get(o, "loudnorm"),
           *s = json_object_get(o, "sprites");
    static const char *const akeys[] = {"bitrate", "rate", "channels", NULL};
    static const char *const lkeys[] = {"i", "tp", "lra", NULL};
    static const char *const skeys[] = {"interval", "width", "columns", "rows", NULL};
    int64_t ab = p->audio_bitrate, ar = p->audio_rate, ac = p->audio_channels;
    int64_t sw = 160, cols = 10, rows = 10;
    int ret = 0;
    if (a) {
        c->where = "audio";
        ret = json_is_object(a) ? only_keys(c, a, akeys) : bad(c, "audio", "not an object");
        if (ret == 0)
            ret = inum(c, a, "bitrate", 16000, 512000, &ab);
        if (ret == 0)
            ret = inum(c, a, "rate", 8000, 96000, &ar);
        if (ret == 0)
            ret = inum(c, a, "channels", 1, 2, &ac);
    }
    p->audio_bitrate = (int)ab, p->audio_rate = (int)ar, p->audio_channels = (int)ac;
    if (ret == 0 && l && !json_is_false(l)) {
        c->where = "loudnorm";
        p->loudnorm = 1;
        if (!json_is_true(l)) {
            ret = json_is_object(l) ? only_keys(c, l, lkeys) : bad(c, "loudnorm", "not an object");
            if (ret == 0)
                ret = num(c, l, "i", -70, -5, &p->loud_i);
            if (ret == 0)
                ret = num(c, l, "tp", -9, 0, &p->loud_tp);
            if (ret == 0)
                ret = num(c, l, "lra", 1, 50, &p->loud_lra);
        }
    }
    if (ret == 0 && s) {
        c->where = "sprites";
        p->sprite_interval = 5;
        ret = json_is_object(s) ? only_keys(c, s, skeys) : bad(c, "sprites", "not an object");
        if (ret == 0)
            ret = num(c, s, "interval", 0.1, 3600, &p->sprite_interval);
        if (ret == 0)
            ret = inum(c, s, "width", 16, 1920, &sw);
        if (ret == 0)
            ret = inum(c, s, "columns", 1, 20, &cols);
        if (ret == 0)
            ret = inum(c, s, "rows", 1, 20, &rows);
        p->sprite_width = (int)sw & ~1, p->sprite_columns = (int)cols, p->sprite_rows = (int)rows;
    }
    c->where = NULL;
    return ret;
}

static int parse(Ctx *c, json_t *o, TcPreset *p)
{
    static const char *const keys[] = {
        "name",       "description", "format",   "segment_seconds", "gop_seconds", "x264_preset",
        "renditions", "audio",       "loudnorm", "sprites",         NULL};
    static const char *const x264[] = {"ultrafast", "superfast", "veryfast", "faster",   "fast",
                                       "medium",    "slow",      "slower",   "veryslow", NULL};
    char format[8] = "mp4";
    memset(p, 0, sizeof(*p));
    snprintf(p->x264_preset, sizeof(p->x264_preset), "veryfast");
    p->segment_seconds = 4, p->gop_seconds = 2;
    p->audio_bitrate = 128000, p->audio_rate = 48000, p->audio_channels = 2;
    p->loud_i = -23, p->loud_tp = -1, p->loud_lra = 7;
    int ret = json_is_object(o) ? only_keys(c, o, keys) : bad(c, "preset", "not a JSON object");
    if (ret == 0)
        ret = str(c, o, "name", p->name, sizeof(p->name), 1);
    if (ret == 0)
        ret = str(c, o, "description", p->description, sizeof(p->description), 0);
    if (ret == 0)
        ret = str(c, o, "format", format, sizeof(format), 1);
    if (ret == 0 && strcmp(format, "mp4") && strcmp(format, "hls"))
        ret = bad(c, "format", "must be \"mp4\" or \"hls\"");
    p->hls = !strcmp(format, "hls");
    if (ret == 0)
        ret = num(c, o, "segment_seconds", 1, 60, &p->segment_seconds);
    if (ret == 0)
        ret = num(c, o, "gop_seconds", 0.1, 10, &p->gop_seconds);
    double k = p->segment_seconds / p->gop_seconds;
    if (ret == 0 && p->hls && fabs(k - round(k)) > 1e-6)
        ret = bad(c, "segment_seconds", "must be a multiple of gop_seconds (aligned segments)");
    if (ret == 0)
        ret = str(c, o, "x264_preset", p->x264_preset, sizeof(p->x264_preset), 1);
    int known = 0;
    for (const char *const *x = x264; *x; x++)
        known |= !strcmp(*x, p->x264_preset);
    if (ret == 0 && !known)
        ret = bad(c, "x264_preset", "not an x264 preset (ultrafast ... veryslow)");
    json_t *rs = json_object_get(o, "renditions"), *r;
    size_t i;
    if (ret == 0 &&
        (!json_is_array(rs) || !json_array_size(rs) || json_array_size(rs) > TC_MAX_RENDITIONS))
        ret = bad(c, "renditions", "must be an array of 1 to 8 renditions");
    json_array_foreach(rs, i, r) if (ret == 0)
    {
        c->where = "renditions[]";
        ret = rendition(c, r, &p->r[p->n++]);
        for (int j = 0; ret == 0 && j + 1 < p->n; j++)
            if (!strcmp(p->r[j].name, p->r[p->n - 1].name))
                ret = bad(c, "name", "two renditions with one name");
        c->where = NULL;
    }
    if (ret == 0)
        ret = sections(c, o, p);
    if (ret == 0 && !*p->name)
        ret = bad(c, "name", "missing");
    return ret;
}

int vidx__tc_preset_parse(const char *text, size_t len, const char *src, TcPreset *p)
{
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    Ctx c = {src, NULL};
    if (!root)
        return vidx__detail(VIDX_EUSAGE, "preset file %s: %s (line %d)", src, err.text, err.line);
    int ret = parse(&c, json_is_array(root) ? json_array_get(root, 0) : root, p);
    json_decref(root);
    return ret;
}

int vidx__tc_preset_load(const char *name, TcPreset *p)
{
    int file = strchr(name, '/') || (strlen(name) > 5 && !strcmp(name + strlen(name) - 5, ".json"));
    if (file) {
        json_error_t err;
        json_t *root = json_load_file(name, JSON_REJECT_DUPLICATES, &err);
        char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
        json_decref(root);
        if (!text)
            return vidx__detail(VIDX_EUSAGE, "preset file %s: %s (line %d)", name, err.text,
                                err.line);
        int ret = vidx__tc_preset_parse(text, strlen(text), name, p);
        free(text);
        return ret;
    }
    json_t *root = json_loads(builtins, 0, NULL), *o = NULL, *x;
    size_t i;
    json_array_foreach(root, i, x) if (!strcmp(json_string_value(json_object_get(x, "name")), name))
        o = x;
    Ctx c = {"built-in preset", NULL};
    int ret = o ? parse(&c, o, p)
                : vidx__detail(VIDX_EUSAGE,
                               "no built-in preset '%s' (vidx transcode --list-presets; a preset "
                               "file is a path)",
                               name);
    json_decref(root);
    return ret;
}

void vidx__tc_preset_text(const TcPreset *p, char *buf, size_t size)
{
    int len = snprintf(buf, size, "%s %d %.6g %.6g %s a%d,%d,%d l%d,%.6g,%.6g,%.6g s%.6g,%d,%d,%d",
                       p->name, p->hls, p->segment_seconds, p->gop_seconds, p->x264_preset,
                       p->audio_bitrate, p->audio_rate, p->audio_channels, p->loudnorm, p->loud_i,
                       p->loud_tp, p->loud_lra, p->sprite_interval, p->sprite_width,
                       p->sprite_columns, p->sprite_rows);
    for (int i = 0; i < p->n && len >= 0 && (size_t)len < size; i++) {
        const TcRendition *r = &p->r[i];
        len +=
            snprintf(buf + len, size - (size_t)len, " r%s,%d,%lld,%lld,%lld,%d", r->name, r->height,
                     (long long)r->bitrate, (long long)r->maxrate, (long long)r->bufsize, r->crf);
    }
}
