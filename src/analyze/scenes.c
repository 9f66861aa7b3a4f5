/*
 * scenes.c - the shot boundary detector (see scenes.h).
 *
 * DESIGN
 * Each frame's content score is the mean absolute difference of its small
 * grey picture from the previous frame's (0-255). A frame k is a hard cut when
 * its score is above an absolute floor (min_score), at least `ratio` times the
 * base (the larger of the mean scores of the WINDOW frames before it and of
 * the LOOK frames after it), and it changes much of the picture (CUT_SHARE of
 * its pixels). Motion (pans, zooms, a shaking camera) and the steady steps of
 * a fade raise the scores of every frame around them alike, so the ratio stays
 * low; a large object crossing the frame fast changes a part of it only. A
 * camera flash (any burst of at most LOOK frames that then returns to the
 * previous content) is recognised by a frame after it that matches the frame
 * before it again: neither the burst nor the return from it is a cut.
 * Decisions therefore lag LOOK frames behind the frames pushed; only LOOK + 2
 * pictures are kept.
 *
 * Transitions through black (a frame is black when 90 % of its pixels are at
 * most `black`: captions on black count, a dark night scene does not): a hard
 * cut into or out of black is a cut like any other. A fade to black followed
 * by a fade-in (or a cut) from black makes one boundary, at the fade-in's
 * first frame (where the mean luma starts to rise steadily, often still under
 * `black`): the black run ends the shot that faded out. A black run that a
 * cut began (or the video's start) belongs to the shot it opens, fade-in
 * included. Boundaries closer than min_shot frames to the previous one are
 * dropped (the earlier wins).
 *
 * Dissolves (a cross-fade from one shot into the next) raise every score
 * along them a little, like a fade, so the cut rule does not see them. A
 * dissolve from frame s to frame e is recognised when it has ended (frame e
 * is decided, its LOOK successors pushed): the pictures of s and e differ as
 * a cut's would (a score of at least DISSOLVE_SCORE x min_score, CUT_SHARE of
 * the pixels changed), every picture between is their blend (at the quarter
 * points and the middle, within DISSOLVE_LINEAR of their difference: motion
 * moves content instead of blending it), no single frame makes much of the
 * change (DISSOLVE_STEP: that would be a cut), and the content is steady for
 * LOOK frames either side (DISSOLVE_STILL) while it changes inside. Of the
 * lengths DISSOLVE_MIN to DISSOLVE_MAX that qualify, the most linear is
 * taken; the boundary is its middle frame. Ends that are dark (DISSOLVE_DARK
 * x black), ends that are one picture at two brightnesses (a fade is a blend
 * with black), and windows near another boundary are left to the rules
 * above. Motion inside the shots on either side hides a dissolve
 * (the steadiness test); the detector then misses it rather than guess.
 */
#include "analyze/scenes.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"

#define WINDOW 8 /* frames before a candidate in the adaptive threshold's base */
#define LOOK   3 /* frames after it: the base, and the longest flash */
/* Dissolves (cross-fades) of DISSOLVE_MIN to DISSOLVE_MAX frames are looked for. */
#define DISSOLVE_MIN 6
#define DISSOLVE_MAX 30
/* The pictures kept: a dissolve's window, LOOK frames either side of it. */
#define RING (DISSOLVE_MAX + 2 * LOOK + 2)
/* A dissolve's two ends differ like a cut: this content score at least (x min_score) ... */
#define DISSOLVE_SCORE 2.0
/* ... each picture inside is the blend of the ends, within this share of their difference ... */
#define DISSOLVE_LINEAR 0.25
/* ... no one frame makes more than this share of the change (else it holds a cut) ... */
#define DISSOLVE_STEP 0.5
/* ... and the LOOK frames either side change less than the LOOK frames inside (this share). */
#define DISSOLVE_STILL 0.8
#define DISSOLVE_DARK  2 /* x black: an end this dark is a fade's, not a dissolve's */
/* A frame after a candidate this close to the frame before it (x its score): a flash. */
#define FLASH_MATCH 0.4
/* A cut changes much of the picture: at least this share of its pixels by more than CUT_DELTA. */
#define CUT_SHARE 0.35
#define CUT_DELTA 20
/* Percent of a black frame's pixels at most SceneParams.black (the rest: captions, logos). */
#define BLACK_SHARE 90
/* Mean luma rise per frame that counts as a fade-in (0-255). */
#define FADE_RISE 0.5
/* The adaptive base never falls below this (static content, noise-free sources). */
#define BASE_FLOOR 1.0

typedef struct FrameInfo {
    double time, duration;
    double score; /* vs the previous frame; 0 for the first */
    double mean;  /* mean luma */
    int level;    /* bright_level(): black when at most SceneParams.black */
    double ratio; /* score / base, once decided */
    int cause;    /* SceneCause of a boundary here, or -1 */
} FrameInfo;

struct SceneDetector {
    SceneParams p;
    int w, h;
    uint8_t *ring; /* RING pictures of w*h bytes: frame i at slot i % RING */
    FrameInfo *fr;
    int64_t n;           /* frames pushed */
    int64_t decided;     /* frames whose boundary decision is made */
    int64_t flash_until; /* the last frame of a flash seen: no cut up to it */
    int64_t black_from;  /* the first frame of the last black run decided */
    size_t cap;
    SceneShot *shots;
    int64_t n_shots;
    size_t cap_shots;
};

void vidx__scene_default_params(SceneParams *p)
{
    p->ratio = 3.0;
    p->min_score = 10.0;
    p->min_shot = 10;
    p->black = 16.0;
}

int vidx__scene_new(SceneDetector **out, const SceneParams *p)
{
    SceneDetector *d = calloc(1, sizeof(*d));
    *out = NULL;
    if (!d)
        return -ENOMEM;
    d->p = *p;
    *out = d;
    return 0;
}

void vidx__scene_free(SceneDetector **pd)
{
    SceneDetector *d = *pd;
    if (!d)
        return;
    free(d->ring);
    free(d->fr);
    free(d->shots);
    free(d);
    *pd = NULL;
}

static const uint8_t *pic(const SceneDetector *d, int64_t i)
{
    return d->ring + (size_t)(i % RING) * (size_t)d->w * (size_t)d->h;
}

/* Mean absolute difference of two pictures, 0-255. */
static double mad(const SceneDetector *d, const uint8_t *a, const uint8_t *b)
{
    size_t n = (size_t)d->w * (size_t)d->h;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (uint64_t)abs((int)a[i] - (int)b[i]);
    return n ? (double)sum / (double)n : 0;
}

static double mean_of(const SceneDetector *d, const uint8_t *a)
{
    size_t n = (size_t)d->w * (size_t)d->h;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += a[i];
    return n ? (double)sum / (double)n : 0;
}

/* The luma that BLACK_SHARE of the picture's pixels do not exceed. */
static int bright_level(const SceneDetector *d, const uint8_t *a)
{
    size_t n = (size_t)d->w * (size_t)d->h, hist[256] = {0}, seen = 0;
    for (size_t i = 0; i < n; i++)
        hist[a[i]]++;
    for (int v = 0; v < 256; v++)
        if ((seen += hist[v]) * 100 >= n * BLACK_SHARE)
            return v;
    return 255;
}

static int is_black(const SceneDetector *d, int64_t i)
{
    return d->fr[i].level <= d->p.black;
}

/* Mean score of frames [a, b) (only those pushed), or 0. */
static double mean_score(const SceneDetector *d, int64_t a, int64_t b)
{
    double sum = 0;
    int64_t n = 0;
    for (int64_t i = VIDX_MAX(a, 1); i < b && i < d->n; i++, n++)
        sum += d->fr[i].score;
    return n ? sum / (double)n : 0;
}

/*
 * The adaptive threshold's base for frame k: the larger of the mean scores
 * before and after it, so that motion starting (or ending) at k, or a fade's
 * steady steps, do not make k stand out.
 */
static double base_of(const SceneDetector *d, int64_t k)
{
    double before = mean_score(d, k - WINDOW, k), after = mean_score(d, k + 1, k + 1 + LOOK);
    return VIDX_MAX(VIDX_MAX(before, after), BASE_FLOOR);
}

/* Share of frame k's pixels that differ from frame k-1's by more than CUT_DELTA. */
static double changed_share(const SceneDetector *d, int64_t k)
{
    const uint8_t *a = pic(d, k), *b = pic(d, k - 1);
    size_t n = (size_t)d->w * (size_t)d->h, changed = 0;
    for (size_t i = 0; i < n; i++)
        changed += abs((int)a[i] - (int)b[i]) > CUT_DELTA;
    return n ? (double)changed / (double)n : 0;
}

/*
 * A burst that returns to the content before it: the last frame after k that
 * matches frame k-1 again (then k up to it are no cuts), or 0.
 */
static int64_t flash_end(const SceneDetector *d, int64_t k)
{
    const uint8_t *before = pic(d, k - 1);
    int64_t end = 0;
    for (int64_t i = k + 1; i <= k + LOOK && i < d->n; i++)
        if (mad(d, pic(d, i), before) < FLASH_MATCH * d->fr[k].score)
            end = i;
    return end;
}

/* Share of the pixels of frames a and b that differ by more than CUT_DELTA. */
static double changed_between(const SceneDetector *d, int64_t a, int64_t b)
{
    const uint8_t *x = pic(d, a), *y = pic(d, b);
    size_t n = (size_t)d->w * (size_t)d->h, changed = 0;
    for (size_t i = 0; i < n; i++)
        changed += abs((int)x[i] - (int)y[i]) > CUT_DELTA;
    return n ? (double)changed / (double)n : 0;
}

/* Mean absolute difference of frame m from the blend of frames s and e at m's place. */
static double blend_error(const SceneDetector *d, int64_t s, int64_t m, int64_t e)
{
    const uint8_t *a = pic(d, s), *x = pic(d, m), *b = pic(d, e);
    size_t n = (size_t)d->w * (size_t)d->h;
    int64_t len = e - s, at = m - s;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t blend = ((len - at) * a[i] + at * b[i]) / len;
        sum += (uint64_t)llabs((int64_t)x[i] - blend);
    }
    return n ? (double)sum / (double)n : 0;
}

/*
 * Mean absolute difference of frame a's picture, scaled to frame b's mean
 * luma, from frame b's: small when b is a at another brightness (a fade).
 */
static double scaled_error(const SceneDetector *d, int64_t a, int64_t b)
{
    const uint8_t *x = pic(d, a), *y = pic(d, b);
    size_t n = (size_t)d->w * (size_t)d->h;
    double gain = d->fr[a].mean > 0 ? d->fr[b].mean / d->fr[a].mean : 1, sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += fabs(x[i] * gain - y[i]);
    return n ? sum / (double)n : 0;
}

/* A boundary already decided in frames [a, b]. */
static int boundary_in(const SceneDetector *d, int64_t a, int64_t b)
{
    for (int64_t i = VIDX_MAX(a, 0); i <= b; i++)
        if (d->fr[i].cause >= 0)
            return 1;
    return 0;
}

/* How far frames s..e (e > s + 3) are from a dissolve: the worst blend error over
 * their difference, or a negative value when they are not one. */
static double dissolve_fit(const SceneDetector *d, int64_t s, int64_t e)
{
    double diff = mad(d, pic(d, s), pic(d, e)), worst = 0;
    if (d->fr[s].level <= DISSOLVE_DARK * d->p.black || diff < DISSOLVE_SCORE * d->p.min_score ||
        mad(d, pic(d, s - LOOK), pic(d, s)) > DISSOLVE_STILL * mad(d, pic(d, s), pic(d, s + LOOK)))
        return -1;
    for (int64_t i = s + 1; i <= e; i++)
        if (d->fr[i].score > DISSOLVE_STEP * diff || is_black(d, i))
            return -1;
    for (int q = 1; q <= 3; q++) {
        double err = blend_error(d, s, s + (e - s) * q / 4, e) / diff;
        if (err > DISSOLVE_LINEAR)
            return -1;
        worst = VIDX_MAX(worst, err);
    }
    if (changed_between(d, s, e) < CUT_SHARE ||
        VIDX_MIN(scaled_error(d, s, e), scaled_error(d, e, s)) < DISSOLVE_LINEAR * diff)
        return -1; /* not a change of content: the same picture brightening or darkening */
    return worst;
}

/*
 * Has a dissolve just ended at frame e (its LOOK successors pushed)? Then its
 * middle frame begins a shot.
 */
static void dissolve_ending_at(SceneDetector *d, int64_t e)
{
    if (e - DISSOLVE_MIN - LOOK < 1 || e + LOOK >= d->n ||
        d->fr[e].level <= DISSOLVE_DARK * d->p.black)
        return;
    double inside = mad(d, pic(d, e - LOOK), pic(d, e));
    if (inside < d->p.min_score / 2 ||
        mad(d, pic(d, e), pic(d, e + LOOK)) > DISSOLVE_STILL * inside)
        return; /* not changing into e, or not steady after it */
    double best = -1;
    int64_t best_s = 0;
    for (int64_t s = e - DISSOLVE_MIN; s >= e - DISSOLVE_MAX && s - LOOK >= 1; s--) {
        double fit = dissolve_fit(d, s, e);
        if (fit >= 0 && (best < 0 || fit < best))
            best = fit, best_s = s;
    }
    if (best < 0 || boundary_in(d, best_s - d->p.min_shot, e))
        return;
    FrameInfo *m = &d->fr[best_s + (e - best_s + 1) / 2];
    m->cause = SCENE_DISSOLVE;
    m->ratio = 0;
}

/* Is frame k the first of a fade-in out of a black run that a fade-out (no boundary) began? */
static int fade_in_after_fade_out(const SceneDetector *d, int64_t k)
{
    return !is_black(d, k) && is_black(d, k - 1) && d->black_from > 0 &&
           d->fr[d->black_from].cause < 0;
}

/*
 * The fade-in that leaves the black run at frame k began where the mean luma
 * started to rise steadily: frames still dark enough to count as black.
 */
static int64_t fade_in_start(const SceneDetector *d, int64_t k)
{
    int64_t j = k;
    while (j - 2 >= d->black_from && d->fr[j - 2].mean + FADE_RISE < d->fr[j - 1].mean)
        j--;
    return j;
}

/* Decides whether a shot begins at frame k (1 <= k < n, its pictures still in the ring). */
static void decide(SceneDetector *d, int64_t k)
{
    FrameInfo *f = &d->fr[k];
    f->ratio = f->score / base_of(d, k);
    if (k > d->flash_until && f->score >= d->p.min_score) {
        int64_t end = flash_end(d, k);
        if (end)
            d->flash_until = end; /* the flash and the frames that return from it */
        else if (f->ratio >= d->p.ratio && changed_share(d, k) >= CUT_SHARE)
            f->cause = SCENE_CUT;
    }
    if (f->cause < 0 && k > d->flash_until && fade_in_after_fade_out(d, k))
        d->fr[fade_in_start(d, k)].cause = SCENE_FADE;
    if (f->cause < 0 && k > d->flash_until)
        dissolve_ending_at(d, k);
    if (is_black(d, k) && !is_black(d, k - 1))
        d->black_from = k;
}

static int first_frame(SceneDetector *d, int w, int h)
{
    if (w <= 0 || h <= 0)
        return -EINVAL;
    d->w = w;
    d->h = h;
    d->ring = malloc((size_t)RING * (size_t)w * (size_t)h);
    return d->ring ? 0 : -ENOMEM;
}

int vidx__scene_push(SceneDetector *d, const uint8_t *y, int w, int h, int stride, double time,
                     double duration)
{
    int ret;
    if (!d->ring && (ret = first_frame(d, w, h)) < 0)
        return ret;
    if (w != d->w || h != d->h)
        return -EINVAL;
    if (vidx__grow(&d->fr, &d->cap, (size_t)d->n + 1, sizeof(*d->fr), 256) < 0)
        return -ENOMEM;
    uint8_t *dst = (uint8_t *)pic(d, d->n);
    for (int r = 0; r < h; r++)
        memcpy(dst + (size_t)r * (size_t)w, y + (size_t)r * (size_t)stride, (size_t)w);
    FrameInfo *f = &d->fr[d->n];
    *f = (FrameInfo){
        time, duration, 0, mean_of(d, dst), bright_level(d, dst), 0, d->n ? -1 : SCENE_START};
    if (d->n)
        f->score = mad(d, dst, pic(d, d->n - 1));
    d->n++;
    for (; d->decided < d->n - LOOK; d->decided++)
        if (d->decided > 0)
            decide(d, d->decided);
    return 0;
}

static int add_shot(SceneDetector *d, int64_t first)
{
    if (vidx__grow(&d->shots, &d->cap_shots, (size_t)d->n_shots + 1, sizeof(*d->shots), 16) < 0)
        return -ENOMEM;
    const FrameInfo *f = &d->fr[first];
    SceneShot *s = &d->shots[d->n_shots++];
    *s = (SceneShot){.first = first, .start = f->time, .cause = f->cause};
    s->score = first ? f->score : 0;
    s->ratio = first ? f->ratio : 0;
    s->fade_in = is_black(d, first) || f->cause == SCENE_FADE;
    return 0;
}

/* Closes the last shot at frame last (inclusive). */
static void close_shot(SceneDetector *d, int64_t last)
{
    SceneShot *s = &d->shots[d->n_shots - 1];
    const FrameInfo *l = &d->fr[last];
    s->last = last;
    s->end = last + 1 < d->n ? d->fr[last + 1].time : l->time + l->duration;
    s->fade_out = 0;
    for (int64_t i = last; i > s->first && is_black(d, i); i--)
        s->fade_out = !is_black(d, i - 1); /* black at the end, after content */
}

int vidx__scene_finish(SceneDetector *d)
{
    int64_t prev = 0;
    d->n_shots = 0;
    for (; d->decided < d->n; d->decided++)
        if (d->decided > 0)
            decide(d, d->decided);
    if (!d->n)
        return 0;
    if (add_shot(d, 0) < 0)
        return -ENOMEM;
    for (int64_t k = 1; k < d->n; k++) {
        if (d->fr[k].cause < 0 || k - prev < d->p.min_shot)
            continue;
        close_shot(d, k - 1);
        if (add_shot(d, k) < 0)
            return -ENOMEM;
        prev = k;
    }
    close_shot(d, d->n - 1);
    return 0;
}

const SceneShot *vidx__scene_shots(const SceneDetector *d, int64_t *n)
{
    *n = d->n_shots;
    return d->shots;
}

int64_t vidx__scene_frames(const SceneDetector *d)
{
    return d->n;
}

/* The i-th of the m frames pick takes from a shot of len frames starting at a. */
static int64_t picked(int64_t a, int64_t len, int64_t m, int64_t i, ScenePick pick)
{
    if (pick == SCENE_PICK_FIRST)
        return a + i;
    if (pick == SCENE_PICK_MIDDLE) /* m = 1: frame len / 2, as spread's one slice */
        return a + (len - m + 1) / 2 + i;
    /* floor((i + 0.5) * len / m): distinct and increasing, since len / m >= 1 */
    return a + (2 * i + 1) * len / (2 * m);
}

int vidx__scene_pick(const SceneShot *shots, int64_t n, int k, ScenePick pick, int64_t max,
                     int64_t **out, int64_t *n_out)
{
    int64_t total = 0, at = 0;
    *out = NULL;
    *n_out = 0;
    for (int64_t s = 0; s < n; s++) {
        total += VIDX_MIN((int64_t)k, shots[s].last - shots[s].first + 1);
        if (total > max)
            return -ERANGE;
    }
    int64_t *idx = malloc((size_t)VIDX_MAX(total, 1) * sizeof(*idx));
    if (!idx)
        return -ENOMEM;
    for (int64_t s = 0; s < n; s++) {
        int64_t len = shots[s].last - shots[s].first + 1, m = VIDX_MIN((int64_t)k, len);
        for (int64_t i = 0; i < m; i++)
            idx[at++] = picked(shots[s].first, len, m, i, pick);
    }
    *out = idx;
    *n_out = total;
    return 0;
}

int64_t vidx__scene_shot_of(const SceneShot *shots, int64_t n, int64_t index)
{
    int64_t lo = 0, hi = n - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (index < shots[mid].first)
            hi = mid - 1;
        else if (index > shots[mid].last)
            lo = mid + 1;
        else
            return mid;
    }
    return -1;
}
