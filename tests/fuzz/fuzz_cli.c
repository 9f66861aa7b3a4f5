/*
 * fuzz_cli.c - libFuzzer harness for the CLI's parsers (tools/vidx/args.c,
 * jobopts.c) and the @list reader (src/batch/inputs.c). The input is lines:
 * "NAME=VALUE" goes to the shared sampling/output option parser as --NAME
 * VALUE (count, fps, at, index, size, fit, quality, ...), followed by its
 * final checks; "S:", "I:", "F:", "L:" and "N:" go to cli_parse_size,
 * cli_parse_int, cli_parse_double and the comma-list parsers; "K:" derives a
 * video key from a path and checks it is one safe folder name; a line "@"
 * makes the rest of the input an @list file, read by vidx__inputs_expand in an
 * empty temporary directory. The list's entries are kept inside that
 * directory ('/' becomes '_', each entry gets a prefix so it cannot be "-",
 * "..", another @list or a URL): what is fuzzed is the list format (line
 * ends, CR, comments, blank lines), not a walk of the real filesystem.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch/inputs.h"
#include "cli.h"

static void key_is_safe(const char *path)
{
    char key[96];
    vidx__input_key(path, key);
    if (!key[0] || key[0] == '.' || strlen(key) > 80)
        abort();
    for (const char *p = key; *p; p++)
        if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            abort(); /* a key is a folder name under OUT/frames/ */
}

static void number(char kind, const char *v)
{
    int64_t i, *is = NULL;
    double d, *ds = NULL;
    size_t n;
    switch (kind) {
    case 'S':
        if (cli_parse_size("fuzz", v, &i) == 0 && i < 0)
            abort();
        break;
    case 'I':
        if (cli_parse_int("fuzz", v, -1000, 1000, &i) == 0 && (i < -1000 || i > 1000))
            abort();
        break;
    case 'F':
        if (cli_parse_double("fuzz", v, 0.0, &d) == 0 && !(d >= 0.0))
            abort();
        break;
    case 'L':
        if (cli_parse_doubles("fuzz", v, &ds, &n) == 0 && n == 0)
            abort();
        free(ds);
        break;
    case 'N':
        if (cli_parse_ints("fuzz", v, &is, &n) == 0 && n == 0)
            abort();
        free(is);
        break;
    case 'K':
        key_is_safe(v);
        break;
    }
}

static void option(CliJob *j, char *line)
{
    char *eq = strchr(line, '=');
    if (eq)
        *eq = 0;
    const CliOption *tables[] = {cli_job_options, cli_asr_options}; /* as cli_with_job_options */
    for (size_t t = 0; t < 2; t++)
        for (const CliOption *o = tables[t]; o->name; o++)
            if (!strcmp(o->name, line)) {
                cli_job_option(j, o->key, o->arg ? (eq ? eq + 1 : "") : NULL);
                return;
            }
}

static char dir[64];

static void remove_dir(void)
{
    rmdir(dir);
}

/* The rest of the input as an @list, its entries confined to an empty directory. */
static void list(const char *text, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/vidx-fuzz-cli-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
    }
    char path[96], *copy = malloc(size * 2 + 1), *q = copy;
    if (!copy)
        return;
    for (size_t i = 0; i < size; i++) {
        int start = i == 0 || text[i - 1] == '\n';
        if (start && text[i] != '#' && text[i] != '\n' && text[i] != '\r')
            *q++ = 'v'; /* not "-", "@...", "..", "/..." or a URL */
        *q++ = text[i] == '/' ? '_' : text[i];
    }
    snprintf(path, sizeof(path), "%s/list", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fwrite(copy, 1, (size_t)(q - copy), f);
        fclose(f);
        char at[100];
        snprintf(at, sizeof(at), "@%s", path);
        const char *in[1] = {at};
        InputList l = {0};
        if (vidx__inputs_expand(&l, in, 1, NULL) == 0)
            vidx__inputs_sort_unique(&l);
        for (size_t i = 0; i < l.n; i++) /* canonical: absolute, no "." or ".." left */
            if (l.items[i].path[0] != '/' || strstr(l.items[i].path, "/./") ||
                strstr(l.items[i].path, "/../"))
                abort();
        vidx__inputs_free(&l);
        unlink(path);
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    CliJob j;
    cli_job_init(&j);
    for (char *line = text, *nl; line && line < text + size; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = 0;
        if (line[0] == '@' && !line[1]) {
            list((const char *)data + (nl ? nl - text : (long)size),
                 nl ? size - (size_t)(nl - text) : 0);
            break;
        }
        if (line[0] && line[1] == ':')
            number(line[0], line + 2);
        else
            option(&j, line);
    }
    cli_job_finish(&j);
    cli_job_free(&j);
    free(text);
    return 0;
}
