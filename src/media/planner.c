/*
 * planner.c - which packets to decode so that every requested frame is exactly
 * the one a full sequential decode shows, and nothing more. See planner.h for
 * the reasoning; the invariants used here are:
 *   - dts never decreases and pts >= dts, so once a packet with dts = d has
 *     been read, every later packet has pts >= d ("low"; kept a few packets
 *     behind, see PLAN_DTS_LAG, for files that bend the rule);
 *   - pictures of one GOP (in decode order) are shown before those of the next,
 *     except the next GOP's leading pictures (pts < its key pts), which are
 *     shown after all of this GOP and may reference it.
 */
#include "media/planner.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"

/*
 * Some files break pts >= dts (bad edit lists or composition offsets): a
 * picture can show before the dts of a packet read a little before it. So the
 * bound "low" trails by this many packets: the dts of the packet read that
 * long ago, never the current one. Costs nothing but a few packets of delay.
 */
#define PLAN_DTS_LAG 16

typedef struct PktMeta {
    int64_t pts;
    int32_t gop;
    uint8_t key, wanted;
} PktMeta;

typedef struct GopMeta {
    int64_t first;
    int64_t key_pts;
    int64_t last_wanted; /* packet number, -1 if none */
    uint8_t wanted;      /* holds a wanted packet */
    uint8_t lead_wanted; /* holds a wanted leading picture: the previous GOP must be fed */
} GopMeta;

typedef struct SortEnt {
    int64_t pts, pkt;
} SortEnt;

struct Planner {
    PlanKind kind;
    PlanTarget *targets;
    int64_t n_targets, resolved;
    size_t cap_targets;
    PktMeta *pkts;
    int64_t n_pkts;
    size_t cap_pkts;
    GopMeta *gops;
    int64_t n_gops, next_final;
    size_t cap_gops;
    SortEnt *sorted; /* every shown packet by pts; n_sorted entries */
    int64_t n_sorted;
    size_t cap_sorted;
    SortEnt *keys; /* key packets by pts */
    int64_t n_keys;
    size_t cap_keys;
    int64_t low;               /* every future packet has pts >= low */
    int64_t lag[PLAN_DTS_LAG]; /* the last dts values, a ring */
    int64_t n_lag;
    int64_t max_wanted_gop;
    int eof;
    int fed_through; /* last finalised GOP was fed to its end without a drain */
};

/* Grows *arr to hold at least n + 1 elements of size sz. */
static int grow(void *arr, size_t *cap, int64_t n, size_t sz)
{
    return vidx__grow(arr, cap, (size_t)n + 1, sz, 256);
}

/* Inserts e keeping arr sorted by pts (stable); amortised O(reorder depth). */
static void sorted_insert(SortEnt *arr, int64_t n, SortEnt e)
{
    int64_t i = n;
    while (i > 0 && arr[i - 1].pts > e.pts) {
        arr[i] = arr[i - 1];
        i--;
    }
    arr[i] = e;
}

/* Number of entries with pts <= v. */
static int64_t upper_bound(const SortEnt *arr, int64_t n, int64_t v)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (arr[mid].pts <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Number of entries with pts < v. */
static int64_t lower_bound(const SortEnt *arr, int64_t n, int64_t v)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (arr[mid].pts < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int vidx__planner_new(Planner **out, PlanKind kind, const PlanTarget *targets, int64_t n)
{
    Planner *p = calloc(1, sizeof(*p));
    *out = NULL;
    if (!p)
        return -ENOMEM;
    p->kind = kind;
    p->low = INT64_MIN;
    p->max_wanted_gop = -1;
    if (n > 0) {
        p->targets = malloc((size_t)n * sizeof(*targets));
        if (!p->targets) {
            free(p);
            return -ENOMEM;
        }
        memcpy(p->targets, targets, (size_t)n * sizeof(*targets));
        for (int64_t i = 0; i < n; i++) {
            p->targets[i].pts = INT64_MIN;
            p->targets[i].pkt = -1;
            p->targets[i].missed = 0;
        }
    }
    p->n_targets = n;
    p->cap_targets = (size_t)n;
    *out = p;
    return 0;
}

void vidx__planner_free(Planner **pp)
{
    Planner *p = pp ? *pp : NULL;
    if (!p)
        return;
    free(p->targets);
    free(p->pkts);
    free(p->gops);
    free(p->sorted);
    free(p->keys);
    free(p);
    *pp = NULL;
}

static void mark_wanted(Planner *p, PlanTarget *t, const SortEnt *e)
{
    PktMeta *pk = &p->pkts[e->pkt];
    GopMeta *g = &p->gops[pk->gop];
    if (pk->gop < p->next_final) {
        /* Its GOP is gone: cannot happen with well-formed timestamps. */
        t->missed = 1;
        return;
    }
    t->pts = e->pts;
    t->pkt = e->pkt;
    pk->wanted = 1;
    g->wanted = 1;
    if (e->pkt > g->last_wanted)
        g->last_wanted = e->pkt;
    if (e->pts < g->key_pts && pk->gop > 0)
        g->lead_wanted = 1;
    if (pk->gop > p->max_wanted_gop)
        p->max_wanted_gop = pk->gop;
}

/* Picks the entry for target t, or returns NULL if it cannot be resolved yet. */
static const SortEnt *resolve_one(Planner *p, PlanTarget *t, int *missed)
{
    int64_t n = p->n_sorted, k;
    *missed = 0;
    switch (p->kind) {
    case PLAN_TIMES:
        if (!p->eof && p->low <= t->ticks)
            return NULL;
        k = upper_bound(p->sorted, n, t->ticks);
        if (n == 0)
            break;
        return &p->sorted[k > 0 ? k - 1 : 0]; /* before the first frame: the first */
    case PLAN_NEAREST:
        k = upper_bound(p->keys, p->n_keys, t->ticks);
        if (k == p->n_keys && !p->eof)
            return NULL;
        if (p->n_keys == 0)
            break;
        if (k == 0)
            return &p->keys[0];
        if (k == p->n_keys)
            return &p->keys[k - 1];
        return (t->ticks - p->keys[k - 1].pts <= p->keys[k].pts - t->ticks) ? &p->keys[k - 1]
                                                                            : &p->keys[k];
    case PLAN_INDICES:
        if (t->index < n && (p->eof || p->sorted[t->index].pts < p->low))
            return &p->sorted[t->index];
        if (!p->eof)
            return NULL;
        break;
    case PLAN_KEYFRAMES:
        return NULL;
    }
    *missed = 1;
    return NULL;
}

static void resolve(Planner *p)
{
    while (p->resolved < p->n_targets) {
        PlanTarget *t = &p->targets[p->resolved];
        int missed;
        if (t->missed) { /* cut off by vidx__planner_truncate */
            p->resolved++;
            continue;
        }
        const SortEnt *e = resolve_one(p, t, &missed);
        if (!e && !missed)
            return;
        if (e)
            mark_wanted(p, t, e);
        else /* an index past the last frame is the request's fault, not the file's */
            t->missed = p->kind == PLAN_INDICES && p->n_sorted > 0 ? PLAN_OUT_OF_RANGE : 1;
        p->resolved++;
    }
}

static int add_keyframe_target(Planner *p, int64_t pts, int64_t pkt)
{
    if (grow(&p->targets, &p->cap_targets, p->n_targets, sizeof(*p->targets)) < 0)
        return -ENOMEM;
    PlanTarget *t = &p->targets[p->n_targets++];
    memset(t, 0, sizeof(*t));
    t->t = NAN;
    t->ticks = pts;
    SortEnt e = {pts, pkt};
    mark_wanted(p, t, &e);
    p->resolved = p->n_targets;
    return 0;
}

static int open_gop(Planner *p, int64_t pts)
{
    if (grow(&p->gops, &p->cap_gops, p->n_gops, sizeof(*p->gops)) < 0)
        return -ENOMEM;
    GopMeta *g = &p->gops[p->n_gops++];
    memset(g, 0, sizeof(*g));
    g->first = p->n_pkts;
    g->key_pts = pts;
    g->last_wanted = -1;
    return 0;
}

int64_t vidx__planner_add(Planner *p, int64_t pts, int64_t dts, int key, int shown)
{
    int64_t n = p->n_pkts;
    if ((key || p->n_gops == 0) && open_gop(p, pts) < 0)
        return -ENOMEM;
    if (grow(&p->pkts, &p->cap_pkts, n, sizeof(*p->pkts)) < 0)
        return -ENOMEM;
    if (grow(&p->sorted, &p->cap_sorted, p->n_sorted, sizeof(*p->sorted)) < 0)
        return -ENOMEM;
    p->pkts[n] = (PktMeta){.pts = pts, .gop = (int32_t)(p->n_gops - 1), .key = !!key};
    if (shown) /* a reference-only picture is never "the frame shown at t" */
        sorted_insert(p->sorted, p->n_sorted++, (SortEnt){pts, n});
    if (key) {
        if (grow(&p->keys, &p->cap_keys, p->n_keys, sizeof(*p->keys)) < 0)
            return -ENOMEM;
        sorted_insert(p->keys, p->n_keys++, (SortEnt){pts, n});
    }
    p->n_pkts++;
    if (dts != INT64_MIN) {
        int64_t old = p->lag[p->n_lag % PLAN_DTS_LAG];
        p->lag[p->n_lag++ % PLAN_DTS_LAG] = dts;
        if (p->n_lag > PLAN_DTS_LAG && old > p->low)
            p->low = old;
    }
    if (p->kind == PLAN_KEYFRAMES && key && add_keyframe_target(p, pts, n) < 0)
        return -ENOMEM;
    resolve(p);
    return n;
}

void vidx__planner_truncate(Planner *p, int64_t limit)
{
    for (int64_t i = p->resolved; i < p->n_targets; i++)
        if ((p->kind == PLAN_TIMES || p->kind == PLAN_NEAREST) && p->targets[i].ticks > limit)
            p->targets[i].missed = 1;
}

/* Whether a target up to limit already resolves to the last frame (or keyframe) known. */
static int last_answered(const Planner *p, int64_t limit)
{
    const SortEnt *v = p->kind == PLAN_NEAREST ? p->keys : p->sorted;
    int64_t nv = p->kind == PLAN_NEAREST ? p->n_keys : p->n_sorted;
    if (nv == 0) /* not fed (sequential decoding): unknown */
        return 0;
    for (int64_t i = 0; i < p->n_targets; i++)
        if (!p->targets[i].missed && p->targets[i].ticks >= v[nv - 1].pts &&
            p->targets[i].ticks <= limit)
            return 1;
    return 0;
}

int64_t vidx__planner_overrun(Planner *p, int64_t limit)
{
    int64_t n = 0;
    if (p->kind != PLAN_TIMES && p->kind != PLAN_NEAREST)
        return 0;
    int answered = last_answered(p, limit);
    for (int64_t i = p->resolved; i < p->n_targets; i++) {
        PlanTarget *t = &p->targets[i];
        if (t->missed || t->ticks <= limit)
            continue;
        t->missed = answered || n > 0;
        n++;
    }
    return n;
}

void vidx__planner_eof(Planner *p)
{
    p->eof = 1;
    resolve(p);
}

/* Smallest pts an unresolved target can still resolve to (a lower bound). */
static int64_t unresolved_floor(const Planner *p)
{
    if (p->resolved >= p->n_targets)
        return INT64_MAX;
    if (p->kind == PLAN_INDICES)
        return p->low;
    return p->targets[p->resolved].ticks;
}

static void plan_keys_only(const Planner *p, const GopMeta *g, PlanGop *out)
{
    out->needed = g->wanted;
    out->keys_only = 1;
    out->feed_first = out->first;
    out->feed_last = g->last_wanted;
    (void)p;
}

static void plan_exact(Planner *p, const GopMeta *g, int next_lead, PlanGop *out)
{
    out->needed = g->wanted || next_lead;
    if (!out->needed) {
        p->fed_through = 0;
        return;
    }
    out->flush_before = !p->fed_through;
    out->feed_first = out->first;
    out->feed_last = next_lead ? out->end - 1 : g->last_wanted;
    out->drain_after = !next_lead;
    p->fed_through = next_lead;
}

int vidx__planner_next_gop(Planner *p, PlanGop *out)
{
    int64_t gi = p->next_final;
    if (gi >= p->n_gops)
        return 0;
    int closed = gi + 1 < p->n_gops;
    if (!p->eof && (!closed || p->gops[gi + 1].key_pts > unresolved_floor(p)))
        return 0;
    const GopMeta *g = &p->gops[gi];
    memset(out, 0, sizeof(*out));
    out->first = g->first;
    out->end = closed ? p->gops[gi + 1].first : p->n_pkts;
    out->key_pts = g->key_pts;
    out->feed_last = -1;
    if (p->kind == PLAN_KEYFRAMES || p->kind == PLAN_NEAREST)
        plan_keys_only(p, g, out);
    else
        plan_exact(p, g, closed && p->gops[gi + 1].lead_wanted, out);
    p->next_final++;
    return 1;
}

int vidx__planner_wanted(const Planner *p, int64_t n)
{
    return n >= 0 && n < p->n_pkts && p->pkts[n].wanted;
}

int vidx__planner_is_key(const Planner *p, int64_t n)
{
    return n >= 0 && n < p->n_pkts && p->pkts[n].key;
}

const PlanTarget *vidx__planner_targets(const Planner *p, int64_t *n)
{
    *n = p->n_targets;
    return p->targets;
}

int64_t vidx__planner_resolved(const Planner *p)
{
    return p->resolved;
}

int64_t vidx__planner_index_of(const Planner *p, int64_t pts)
{
    return lower_bound(p->sorted, p->n_sorted, pts);
}

int vidx__planner_done(const Planner *p)
{
    if (p->kind == PLAN_KEYFRAMES || p->resolved < p->n_targets)
        return 0;
    return p->max_wanted_gop < p->next_final;
}

int64_t vidx__planner_packets(const Planner *p)
{
    return p->n_pkts;
}
