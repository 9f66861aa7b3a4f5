/*
 * subtitles.h - a transcript's segments written as JSON
 * ({"segments": [{"start", "end", "text"}]}), SubRip (.srt) or WebVTT (.vtt).
 */
#ifndef VIDX_SPEECH_SUBTITLES_H
#define VIDX_SPEECH_SUBTITLES_H

#include <stdio.h>

#include "speech/asr.h"

enum { VIDX_SUBS_JSON = 0, VIDX_SUBS_SRT = 1, VIDX_SUBS_VTT = 2 };

/* Writes segs to f in format; 0, VIDX_EUSAGE for an unknown format, -ENOMEM or -EIO. */
int vidx__subtitles_write(FILE *f, const AsrSegments *segs, int format);

/* "HH:MM:SS,mmm" (sep ',', SRT) or "HH:MM:SS.mmm" (sep '.', WebVTT) of t seconds into buf[16]. */
void vidx__subtitles_time(char buf[32], double t, char sep);

#endif /* VIDX_SPEECH_SUBTITLES_H */
