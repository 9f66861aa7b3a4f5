/*
 * cmd_transcribe.c - `vidx transcribe FILE`: the speech of one file as timed
 * segments, printed as JSON (or SubRip/WebVTT with --format), or written to a
 * new file with -o (never over an existing one). The endpoint's API key is
 * read from an environment variable, never from the command line.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_FORMAT = 256,
};

/* Its own options; the recogniser's (--asr-*, asropts.c) and their older spellings follow. */
static const CliOption transcribe_own_options[] = {
    {"format", OPT_FORMAT, "F", "json (default), srt or vtt"},
    {"output", 'o', "OUT", "write to the new file OUT instead of stdout"},
    {NULL, 0, NULL, NULL},
};

typedef struct TranscribeArgs {
    VidxTranscribeSettings s;
    VidxTranscriptFormat format;
    const char *out;
} TranscribeArgs;

static int parse_format(const char *arg, VidxTranscriptFormat *f)
{
    static const char *names[] = {"json", "srt", "vtt"};
    for (int i = 0; i < 3; i++)
        if (strcmp(arg, names[i]) == 0) {
            *f = (VidxTranscriptFormat)i;
            return 0;
        }
    cli_error(NULL, "--format: '%s' is not json, srt or vtt", arg);
    return -1;
}

static int transcribe_option(int key, const char *arg, void *ctx)
{
    TranscribeArgs *a = ctx;
    int ret = cli_asr_option(&a->s, key, arg);
    if (ret != 0)
        return ret < 0 ? -1 : 0;
    if (key == 'o')
        a->out = arg;
    else if (key == OPT_FORMAT)
        return parse_format(arg, &a->format);
    else
        return -1;
    return 0;
}

/* text to the new file out (O_EXCL: never over an existing file; removed if half-written). */
static int write_new(const char *out, const char *text)
{
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        cli_error(out, "cannot create: %s%s", strerror(errno),
                  errno == EEXIST ? " (vidx does not overwrite files)" : "");
        return CLI_EXIT_OUTPUT;
    }
    size_t len = strlen(text), done = 0;
    ssize_t w = 0;
    while (done < len && ((w = write(fd, text + done, len - done)) > 0 || errno == EINTR))
        done += w > 0 ? (size_t)w : 0;
    if (close(fd) != 0 || done < len) {
        cli_error(out, "cannot write: %s", strerror(errno));
        unlink(out);
        return CLI_EXIT_OUTPUT;
    }
    return CLI_EXIT_OK;
}

static int transcribe_file(const char *file, const TranscribeArgs *a)
{
    VidxSourceSettings ss;
    VidxSource *src = NULL;
    VidxTranscript *t = NULL;
    char *text = NULL;
    vidx_source_default_settings(&ss);
    ss.audio_only = 1;
    int ret = vidx_source_open(&src, file, &ss);
    if (ret < 0) {
        const char *detail = vidx_error_detail(ret);
        cli_error(file, "cannot open: %s%s%s", vidx_strerror(ret), *detail ? ": " : "", detail);
        return cli_exit_code(ret, 0);
    }
    if ((ret = vidx_transcribe(&t, src, &a->s)) < 0) {
        const char *detail = vidx_error_detail(ret);
        cli_error(file, "cannot transcribe: %s%s%s", vidx_strerror(ret), *detail ? ": " : "",
                  detail);
        ret = cli_exit_code(ret, 0);
    } else if ((ret = vidx_transcript_format(t, a->format, &text)) < 0) {
        cli_error(file, "cannot format the transcript: %s", vidx_strerror(ret));
        ret = CLI_EXIT_FATAL;
    } else if (a->out)
        ret = write_new(a->out, text);
    else
        ret = fputs(text, stdout) < 0 ? CLI_EXIT_OUTPUT : CLI_EXIT_OK;
    vidx_free(text);
    vidx_transcript_close(&t);
    vidx_source_close(&src);
    return ret;
}

int cmd_transcribe(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx transcribe FILE [--asr-url URL] [--asr-model M] [--asr-language L]\n"
        "                        [--asr-timeout S] [--asr-retries N] [--asr-chunk S]\n"
        "                        [--format json|srt|vtt] [-o OUT]\n\n"
        "Prints the speech of FILE as timed segments: {\"segments\": [{\"start\", \"end\", "
        "\"text\"}]}.\nThe endpoint's API key comes from $VIDX_ASR_KEY (or --asr-key-env NAME), "
        "never from the command line. See docs/CLI.md.";
    TranscribeArgs a = {0};
    vidx_transcribe_default_settings(&a.s);
    int first,
        ret = cli_parse(argc, argv, usage,
                        cli_options_join3(transcribe_own_options, cli_asr_options, cli_asr_aliases),
                        transcribe_option, &a, &first);
    if (ret != 0)
        return ret > 0 ? CLI_EXIT_OK : -ret;
    if (argc - first != 1) {
        cli_error(NULL, "transcribe takes exactly one FILE (see --help)");
        return CLI_EXIT_USAGE;
    }
    return transcribe_file(argv[first], &a);
}
