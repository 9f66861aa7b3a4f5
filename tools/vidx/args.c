/*
 * args.c - table-driven option parsing, number parsing, exit codes and the
 * error line format ("vidx: FILE: cause") shared by every subcommand.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t cli_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    cli_interrupted = 1;
}

void cli_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void cli_error(const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vidx: ", stderr);
    if (file)
        fprintf(stderr, "%s: ", file);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_exit_code(int err, int output_failed)
{
    if (err >= 0)
        return CLI_EXIT_OK;
    if (output_failed)
        return CLI_EXIT_OUTPUT;
    switch (err) {
    case VIDX_EUSAGE:
    case VIDX_ERANGE:
        return CLI_EXIT_USAGE;
    case VIDX_EDECODE:
    case VIDX_ETRUNCATED:
        return CLI_EXIT_DECODE;
    case VIDX_EINTERRUPTED:
        return CLI_EXIT_INTERRUPTED;
    case VIDX_ECATALOG:
        return CLI_EXIT_FATAL;
    case VIDX_ENOTOURS:
        return CLI_EXIT_NOTOURS;
    case VIDX_ELOCKED:
        return CLI_EXIT_LOCKED;
    case VIDX_ENOGPU:
        return CLI_EXIT_NOGPU;
    case -ENOSPC:
    case -EDQUOT:
    case -EROFS:
        return CLI_EXIT_OUTPUT;
    }
    return CLI_EXIT_INPUT;
}

void cli_print_help(const char *usage, const CliOption *opts)
{
    printf("%s\n\nOptions:\n", usage);
    for (const CliOption *o = opts; o->name; o++) {
        char left[64];
        if (o->key < 256)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        printf("  %-28s %s\n", left, o->help);
    }
    printf("  %-28s %s\n", "-h, --help", "show this help");
}

int cli_parse(int argc, char **argv, const char *usage, const CliOption *opts, CliHandler handle,
              void *ctx, int *first_positional)
{
    struct option lopts[128];
    char shorts[256] = "h";
    size_t n = 0, sl = 1;
    for (const CliOption *o = opts; o->name && n < 126; o++, n++) {
        lopts[n] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL, o->key};
        if (o->key < 256 && sl + 3 < sizeof(shorts)) {
            shorts[sl++] = (char)o->key;
            if (o->arg)
                shorts[sl++] = ':';
        }
    }
    shorts[sl] = 0;
    lopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    lopts[n] = (struct option){0};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
        if (c == 'h') {
            cli_print_help(usage, opts);
            return 1;
        }
        if (c == '?' || c == ':') {
            cli_error(NULL, "%s: unknown option or missing argument (see --help)",
                      argv[optind - 1]);
            return -CLI_EXIT_USAGE;
        }
        int ret = handle(c, optarg, ctx);
        if (ret < 0)
            return -CLI_EXIT_USAGE;
    }
    *first_positional = optind;
    return 0;
}

int cli_parse_int(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        cli_error(NULL, "--%s: '%s' is not an integer in [%lld, %lld]", opt, s, (long long)min,
                  (long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *opt, const char *s, double min, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < min) {
        cli_error(NULL, "--%s: '%s' is not a number >= %g", opt, s, min);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_size(const char *opt, const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    int shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    case 't':
    case 'T':
        shift = 40;
        end++;
        break;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (errno || end == s || *end || !isfinite(v) || v < 0 || v * (double)(1LL << shift) > 9e18) {
        cli_error(NULL, "--%s: '%s' is not a size (e.g. 500M, 2G)", opt, s);
        return -1;
    }
    *out = (int64_t)(v * (double)(1LL << shift));
    return 0;
}

/* Splits a comma list and parses each item with one. */
/* Parses a comma list into a new array; *out and *n change only on success. */
static int parse_list(const char *opt, const char *s, size_t elem, void **out, size_t *n,
                      int (*one)(const char *opt, const char *item, void *dst))
{
    char *copy = strdup(s), *save = NULL;
    size_t cap = 1, got = 0;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    char *arr = calloc(cap, elem);
    int ret = copy && arr ? 0 : -1;
    for (char *tok = ret ? NULL : strtok_r(copy, ",", &save); tok && ret == 0;
         tok = strtok_r(NULL, ",", &save))
        if ((ret = one(opt, tok, arr + got * elem)) == 0)
            got++;
    free(copy);
    if (ret == 0 && got == 0) {
        cli_error(NULL, "--%s: empty list", opt);
        ret = -1;
    }
    if (ret < 0) {
        free(arr);
        return -1;
    }
    free(*out); /* the option given again: the last one counts */
    *out = arr;
    *n = got;
    return 0;
}

static int one_double(const char *opt, const char *item, void *dst)
{
    return cli_parse_double(opt, item, 0.0, dst);
}

static int one_int(const char *opt, const char *item, void *dst)
{
    return cli_parse_int(opt, item, -(1LL << 40), 1LL << 40, dst);
}

int cli_parse_doubles(const char *opt, const char *s, double **out, size_t *n)
{
    return parse_list(opt, s, sizeof(double), (void **)out, n, one_double);
}

int cli_parse_ints(const char *opt, const char *s, int64_t **out, size_t *n)
{
    return parse_list(opt, s, sizeof(int64_t), (void **)out, n, one_int);
}
