/*
 * cmd_serve.c - `vidx serve OUT` (the dashboard) and `vidx report OUT -o
 * FILE` (one HTML file): thin clients of vidx_serve_start() and vidx_report().
 */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { OPT_OUTPUT = 'o', OPT_LISTEN = 800, OPT_CATALOG, OPT_MAX_VIDEOS, OPT_MAX_FRAMES };

static const CliOption serve_options[] = {
    {"listen", OPT_LISTEN, "ADDR:PORT",
     "where to listen (default 127.0.0.1:8470; port 0: any free one); any address but a "
     "loopback one requires the printed token"},
    {"catalog", OPT_CATALOG, "URL", "OUT's PostgreSQL catalog (postgresql://...)"},
    {NULL, 0, NULL, NULL},
};

static const CliOption report_options[] = {
    {"output", OPT_OUTPUT, "FILE", "the HTML file to write (a new file, or a vidx report)"},
    {"catalog", OPT_CATALOG, "URL", "OUT's PostgreSQL catalog (postgresql://...)"},
    {"max-videos", OPT_MAX_VIDEOS, "N", "contact sheets for at most N videos (default 1000)"},
    {"max-frames", OPT_MAX_FRAMES, "N", "at most N frames per contact sheet (default 12)"},
    {NULL, 0, NULL, NULL},
};

typedef struct ServeArgs {
    const char *listen, *catalog, *output;
    int64_t max_videos, max_frames;
} ServeArgs;

static int serve_option(int key, const char *arg, void *ctx)
{
    ServeArgs *a = ctx;
    if (key == OPT_LISTEN)
        a->listen = arg;
    else if (key == OPT_CATALOG)
        a->catalog = arg;
    else if (key == OPT_OUTPUT)
        a->output = arg;
    else if (key == OPT_MAX_VIDEOS)
        return cli_parse_int("--max-videos", arg, 1, 1000000, &a->max_videos);
    else if (key == OPT_MAX_FRAMES)
        return cli_parse_int("--max-frames", arg, 1, 2000, &a->max_frames);
    else
        return -1;
    return 0;
}

/* The library's refusals about OUT and its catalog, as the other readers map them. */
static int open_error(const char *out, int ret)
{
    if (ret == VIDX_ENOTOURS || ret == VIDX_EUSAGE || ret == VIDX_ECATALOG)
        return cli_exit_code(ret, 0);
    cli_error(out, "%s", vidx_strerror(ret));
    return CLI_EXIT_INPUT;
}

int cmd_serve(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx serve OUT [--listen ADDR:PORT] [--catalog URL]\n\n"
        "A read-only web dashboard over a run's output: progress (live while vidx run\n"
        "writes), failures, and each video's frames, shots and transcript; JSON under /api/\n"
        "(docs/SERVE.md). Prints its URL and access token, then serves until interrupted.";
    ServeArgs a = {0};
    VidxServer *s;
    int first, ret = cli_parse(argc, argv, usage, serve_options, serve_option, &a, &first);
    if (ret != 0)
        return ret > 0 ? CLI_EXIT_OK : -ret;
    if (argc - first != 1) {
        cli_error(NULL, "expected exactly one OUT directory (see --help)");
        return CLI_EXIT_USAGE;
    }
    cli_install_signals();
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-answer is that request's end, not ours */
    if ((ret = vidx_serve_start(&s, argv[first], a.catalog, a.listen)) < 0)
        return ret == -EADDRINUSE || ret == -EACCES || ret == -EADDRNOTAVAIL
                   ? CLI_EXIT_USAGE
                   : open_error(argv[first], ret);
    if (vidx_serve_token_required(s))
        printf("vidx serve: %s?token=%s\n", vidx_serve_url(s), vidx_serve_token(s));
    else
        printf("vidx serve: %s (loopback: no token needed; token %s)\n", vidx_serve_url(s),
               vidx_serve_token(s));
    fflush(stdout);
    while (!cli_interrupted)
        sleep(1); /* a signal ends it early */
    vidx_serve_stop(&s);
    return CLI_EXIT_OK;
}

int cmd_report(int argc, char **argv)
{
    static const char usage[] =
        "usage: vidx report OUT -o FILE [--catalog URL] [--max-videos N] [--max-frames N]\n\n"
        "One self-contained HTML file summarising a run: counts, failures and a contact\n"
        "sheet per video (images inlined). FILE must be new or a report vidx wrote.";
    ServeArgs a = {0};
    int first, ret = cli_parse(argc, argv, usage, report_options, serve_option, &a, &first);
    if (ret != 0)
        return ret > 0 ? CLI_EXIT_OK : -ret;
    if (argc - first != 1 || !a.output) {
        cli_error(NULL, "expected one OUT directory and -o FILE (see --help)");
        return CLI_EXIT_USAGE;
    }
    ret = vidx_report(argv[first], a.catalog, a.output, (int)a.max_videos, (int)a.max_frames);
    if (ret == -EEXIST)
        return CLI_EXIT_OUTPUT; /* the library named the file and why */
    if (ret < 0 && ret != VIDX_ENOTOURS && ret != VIDX_EUSAGE && ret != VIDX_ECATALOG) {
        cli_error(a.output, "%s", vidx_strerror(ret));
        return CLI_EXIT_OUTPUT;
    }
    if (ret < 0)
        return open_error(argv[first], ret);
    printf("vidx report: %s\n", a.output);
    return CLI_EXIT_OK;
}
