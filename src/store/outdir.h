/*
 * outdir.h - ownership of an output directory: is DIR vidx's (a marker file,
 * OUT/.vidx-output, says so and what made it), claiming a new or empty one,
 * and the one-writer lock (flock on OUT/.vidx-lock, which holds the writer's
 * pid). Commands that write or delete claim and lock; readers only check.
 */
#ifndef VIDX_STORE_OUTDIR_H
#define VIDX_STORE_OUTDIR_H

#include <stddef.h>

#define VIDX_OUTDIR_MARKER ".vidx-output"
#define VIDX_OUTDIR_LOCK   ".vidx-lock"
#define VIDX_OUTDIR_FORMAT 1

/*
 * Readers: 0 when dir is a vidx output of this kind ("run" or "frames"): it
 * has a marker of that kind in a format this build knows, or (kind "run") it
 * is an output of an earlier vidx (catalog.db with vidx's tables, no marker).
 * Otherwise VIDX_ENOTOURS (logged: which directory and why), or -ENOENT.
 * Writes nothing.
 */
int vidx__outdir_check(const char *dir, const char *kind);

/*
 * Writers: creates dir when missing; accepts an empty directory or one that
 * passes vidx__outdir_check; adds the marker (atomically, durably) when it is
 * missing. Anything else: VIDX_ENOTOURS and nothing touched.
 */
int vidx__outdir_claim(const char *dir, const char *kind);

/*
 * OUT's binding to its catalog, kept in the marker: a random output id (made
 * at claim) and the catalog kind ("sqlite" or "postgresql"; never a URL).
 * Either is "" when the marker predates it, or there is no marker (an
 * output of an older vidx). Readers: vidx__outdir_binding, writes nothing.
 * Writers: vidx__outdir_bind adds what is missing (an id; catalog, unless
 * NULL, as the kind when none is recorded) and returns the binding as it is
 * on disk; without a marker it writes nothing.
 * 0, or a negative code (an unreadable marker: VIDX_ENOTOURS).
 */
typedef struct OutdirBinding {
    char id[40];
    char catalog[16];
} OutdirBinding;
int vidx__outdir_binding(const char *dir, OutdirBinding *b);
int vidx__outdir_bind(const char *dir, const char *catalog, OutdirBinding *b);

/*
 * The one-writer lock of dir (a vidx output): *fd holds it until
 * vidx__outdir_unlock or death. Another holder: VIDX_ELOCKED (logged with
 * its pid), or with wait, blocks until it is gone. The fd is O_CLOEXEC; a
 * forked worker must close it (the lock belongs to the open file).
 */
int vidx__outdir_lock(const char *dir, int wait, int *fd);
/*
 * The lock shared by the queue workers that write to dir together (each
 * commits only what its own claims made); it excludes, and is excluded by,
 * the one-writer lock above. VIDX_ELOCKED (logged) while such a writer holds it.
 */
int vidx__outdir_lock_shared(const char *dir, int *fd);
void vidx__outdir_unlock(int *fd);

/*
 * VIDX_EUSAGE (logged) when the output dir lies inside one of paths (inputs:
 * files or directories; "-", "@lists" and URLs are not paths) or one of them
 * lies inside it; else 0.
 */
int vidx__outdir_overlaps(const char *dir, const char *const *paths, size_t n);

#endif
