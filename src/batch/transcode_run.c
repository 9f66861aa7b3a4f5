/*
 * transcode_run.c - vidx_transcode(): many inputs into OUT (claimed with the
 * marker kind "transcode" and locked like vidx run's OUT), each into
 * OUT/<key>/ (the key of vidx run: batch/inputs.h). A video is made in
 * OUT/.scratch/<key>/ and renamed into place; an earlier OUT/<key>/ is
 * replaced only when every file in it is a name vidx transcode makes (else the
 * video is refused, its folder untouched): the playlists, init.mp4,
 * seg_NNNNN.m4s, the renditions' NAME.mp4 (names from the preset), sprites/,
 * transcode.json. The report lists each video's files.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/inputs.h"
#include "core/abi.h"
#include "core/internal.h"
#include "core/path.h"
#include "store/fs.h"
#include "store/outdir.h"
#include "store/owned.h"
#include "transcode/preset.h"
#include "transcode/transcode.h"

_Static_assert(sizeof(VidxTranscodeSettings) <= VIDX_ABI_MAX_SIZE, "see core/abi.h");

static void tc_defaults(void *p)
{
    VidxTranscodeSettings *s = p;
    memset(s, 0, sizeof(*s));
    s->struct_size = sizeof(*s);
    s->preset = "proxy";
    s->loudnorm = -1;
}

static const VidxAbiLayout tc_layout = {"VidxTranscodeSettings",
                                        sizeof(VidxTranscodeSettings),
                                        alignof(VidxTranscodeSettings),
                                        tc_defaults,
                                        0,
                                        {NULL}};

int vidx_transcode_settings_init(VidxTranscodeSettings *s, size_t size)
{
    return vidx__abi_init(&tc_layout, s, size);
}

int vidx_transcode_presets_json(char **json)
{
    json_t *a = json_loads(vidx__tc_builtin_json(), 0, NULL);
    *json = a ? json_dumps(a, JSON_INDENT(2)) : NULL;
    json_decref(a);
    return *json ? 0 : -ENOMEM;
}

/* ---- names vidx transcode makes ---- */

/* Every file under dir (depth 2) is a name vidx transcode makes: 1, else 0. */
static int only_ours(const char *dir, const TcPreset *p, int depth, const char *parent)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int ok = d != NULL;
    while (ok && (e = readdir(d))) {
        const char *n = e->d_name;
        char sub[PATH_MAX];
        struct stat st;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", dir, n);
        if (lstat(sub, &st) < 0)
            ok = 0;
        else if (S_ISDIR(st.st_mode) && depth == 0) {
            int known = !strcmp(n, "sprites");
            for (int i = 0; i < p->n; i++)
                known |= !strcmp(n, p->r[i].name);
            ok = known && only_ours(sub, p, 1, n);
        } else if (!S_ISREG(st.st_mode))
            ok = 0;
        else if (depth == 0) {
            int known = !strcmp(n, "master.m3u8") || !strcmp(n, "transcode.json");
            for (int i = 0; i < p->n; i++) {
                char mp4[48];
                snprintf(mp4, sizeof(mp4), "%s.mp4", p->r[i].name);
                known |= !strcmp(n, mp4);
            }
            ok = known;
        } else
            ok = !strcmp(parent, "sprites") ? vidx__is_sprite_name(n) || !strcmp(n, "sprites.vtt")
                                            : !strcmp(n, "index.m3u8") || !strcmp(n, "init.mp4") ||
                                                  vidx__is_segment_name(n);
    }
    if (d)
        closedir(d);
    return ok;
}

/* The files under dir, relative, sorted (for the report and transcode.json). */
static void list_files(const char *dir, const char *rel, json_t *out)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        char sub[PATH_MAX], r[PATH_MAX];
        struct stat st;
        snprintf(sub, sizeof(sub), "%s/%s", dir, nm);
        snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "", nm);
        if (strcmp(nm, ".") && strcmp(nm, "..") && lstat(sub, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                list_files(sub, r, out);
            else
                json_array_append_new(out, json_string(r));
        }
        free(names[i]);
    }
    free(names);
}

/* ---- one input ---- */

static int one(const char *out, const char *input, const TcPreset *p, int threads, json_t *rep)
{
    char key[96], scratch[PATH_MAX], final[PATH_MAX], old[PATH_MAX];
    char *canon = vidx__is_url(input) ? strdup(input) : vidx__path_canonical(input, NULL);
    if (!canon)
        return vidx__detail(-ENOENT, "%s: no such file", input);
    vidx__input_key(canon, key);
    free(canon);
    snprintf(scratch, sizeof(scratch), "%s/.scratch/%s", out, key);
    snprintf(final, sizeof(final), "%s/%s", out, key);
    snprintf(old, sizeof(old), "%s/.scratch/old-%s", out, key);
    json_object_set_new(rep, "dir", json_string(key));
    struct stat st;
    if (lstat(final, &st) == 0 && (!S_ISDIR(st.st_mode) || !only_ours(final, p, 0, "")))
        return vidx__detail(VIDX_ENOTOURS,
                            "%s holds files vidx transcode did not make (or other renditions); "
                            "nothing was changed: move them, or use another OUT",
                            final);
    int ret = vidx__remove_tree(scratch);
    if (ret == 0 && mkdir(scratch, 0777) < 0)
        ret = vidx__detail(-errno, "creating %s", scratch);
    if (ret == 0)
        ret = vidx__transcode_one(input, scratch, p, threads, NULL, NULL);
    json_t *files = json_array();
    if (ret == 0) {
        list_files(scratch, "", files);
        json_t *manifest =
            json_pack("{s:s, s:s, s:O}", "input", input, "preset", p->name, "files", files);
        char *text = manifest ? json_dumps(manifest, JSON_INDENT(2)) : NULL;
        json_decref(manifest);
        ret = text ? vidx__write_atomic(scratch, "transcode.json", text, strlen(text), 1) : -ENOMEM;
        free(text);
        json_array_append_new(files, json_string("transcode.json"));
    }
    if (ret == 0 && lstat(final, &st) == 0) /* ours, checked above: set aside, then removed */
        ret = vidx__remove_tree(old) == 0 && rename(final, old) == 0
                  ? 0
                  : vidx__detail(-errno, "replacing %s", final);
    if (ret == 0 && rename(scratch, final) < 0)
        ret = vidx__detail(-errno, "renaming %s into place", final);
    if (ret == 0)
        vidx__remove_tree(old);
    else
        vidx__remove_tree(scratch);
    json_object_set_new(rep, "files", files);
    return ret;
}

int vidx_transcode(const char *const *inputs, size_t n, const char *out,
                   const VidxTranscodeSettings *caller, char **report)
{
    VidxTranscodeSettings s;
    TcPreset p;
    char scratch[PATH_MAX];
    int lock = -1, ret = caller ? vidx__abi_import(&tc_layout, &s, caller) : VIDX_EUSAGE;
    *report = NULL;
    vidx__detail_clear();
    if (ret < 0)
        return ret;
    if ((ret = vidx__tc_preset_load(s.preset ? s.preset : "proxy", &p)) < 0)
        return ret;
    if (s.loudnorm >= 0)
        p.loudnorm = s.loudnorm;
    if ((ret = vidx__outdir_overlaps(out, inputs, n)) < 0)
        return ret;
    if ((ret = vidx__outdir_claim(out, "transcode")) < 0 ||
        (ret = vidx__outdir_lock(out, 0, &lock)) < 0)
        return ret;
    snprintf(scratch, sizeof(scratch), "%s/.scratch", out);
    if (mkdir(scratch, 0777) < 0 && errno != EEXIST)
        ret = vidx__detail(-errno, "creating %s", scratch);
    json_t *videos = json_array();
    int first = 0, ok = 0;
    for (size_t i = 0; ret == 0 && i < n; i++) {
        json_t *rep = json_pack("{s:s}", "input", inputs[i]);
        int r = one(out, inputs[i], &p, s.threads, rep);
        if (r < 0) {
            const char *d = vidx_error_detail(r);
            json_object_set_new(rep, "error", json_string(*d ? d : vidx_strerror(r)));
            json_object_set_new(rep, "class", json_string(vidx_error_class(r)));
            vidx__log(VIDX_LOG_ERROR, "%s: %s", inputs[i], *d ? d : vidx_strerror(r));
            first = first ? first : r;
        } else
            ok++;
        json_array_append_new(videos, rep);
    }
    rmdir(scratch);
    vidx__outdir_unlock(&lock);
    json_t *root = json_pack("{s:s, s:o}", "preset", p.name, "videos", videos);
    *report = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    if (ret == 0 && !ok && first)
        ret = first;
    return ret == 0 && !*report ? -ENOMEM : ret;
}
