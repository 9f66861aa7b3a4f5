/*
 * planner.h - decides, from packet timestamps alone, which packets must be
 * decoded to deliver exactly the requested frames.
 *
 * DESIGN
 * Packets arrive in decode order with their pts, dts and key flag. Packets are
 * grouped into GOPs (a key packet opens one). A target time t resolves to "the
 * frame shown at t" (greatest pts <= t) as soon as no later packet can have a
 * smaller pts: every packet has pts >= dts and dts only grows, so a packet
 * with dts > t proves it. A GOP is finalised once no unresolved target can land
 * in it or in its successor's leading pictures; the planner then says whether it
 * is needed and how far to feed it. Nothing here touches FFmpeg decoding, so the
 * logic is unit-tested on synthetic timestamp patterns (tests/unit).
 */
#ifndef VIDX_MEDIA_PLANNER_H
#define VIDX_MEDIA_PLANNER_H

#include <stdint.h>

typedef enum PlanKind {
    PLAN_TIMES,     /* exact: frame shown at each target tick */
    PLAN_NEAREST,   /* approx: nearest keyframe to each target tick */
    PLAN_INDICES,   /* presentation-order indices (non-negative) */
    PLAN_KEYFRAMES, /* every keyframe */
} PlanKind;

#define PLAN_OUT_OF_RANGE 2 /* PlanTarget.missed: an index past the last frame */

typedef struct PlanTarget {
    double t;      /* requested time in seconds (absolute), NaN if none */
    int64_t ticks; /* requested time in stream time base */
    int64_t index; /* requested index (PLAN_INDICES) */
    int64_t pts;   /* resolved frame pts; INT64_MIN until resolved */
    int64_t pkt;   /* resolved packet number (decode order), -1 until resolved */
    int missed;    /* cannot be delivered: 1 (no frame in the file), PLAN_OUT_OF_RANGE */
} PlanTarget;

/* What to do with one finalised GOP: feed packets [first, last] (decode order). */
typedef struct PlanGop {
    int64_t first, end; /* packets [first, end) belong to the GOP */
    int64_t key_pts;
    int needed;
    int flush_before;   /* decoder must be flushed (not continuing from the previous GOP) */
    int64_t feed_first; /* first packet to feed (skips undecodable leading pictures) */
    int64_t feed_last;  /* last packet to feed, inclusive */
    int drain_after;    /* drain the decoder after feed_last */
    int keys_only;      /* feed only wanted key packets */
} PlanGop;

typedef struct Planner Planner;

/*
 * Creates a planner. For PLAN_TIMES/PLAN_NEAREST, ticks must be sorted
 * ascending; for PLAN_INDICES, indices sorted ascending and non-negative.
 * Returns 0 or -ENOMEM / -EINVAL.
 */
int vidx__planner_new(Planner **out, PlanKind kind, const PlanTarget *targets, int64_t n);
void vidx__planner_free(Planner **p);

/*
 * Records the next packet in decode order. pts must be valid; shown = 0 for a
 * reference-only picture (decoded when its GOP is, never delivered or counted).
 * Returns its number or < 0.
 */
int64_t vidx__planner_add(Planner *p, int64_t pts, int64_t dts, int key, int shown);
/* No more packets will come. */
void vidx__planner_eof(Planner *p);
/*
 * The stream was cut short at limit (ticks): targets past it have no frame in
 * the file and are marked missed instead of resolving to the last frame.
 */
void vidx__planner_truncate(Planner *p, int64_t limit);

/*
 * The stream ended at limit (ticks) though targets were planned past it (a
 * header that declared a longer duration): of the unresolved targets past
 * limit, the first stays (it resolves to the last frame) unless a target up
 * to limit already resolves to that frame, and the others are marked missed,
 * so the last frame is not delivered again and again. Returns how many
 * targets lay past limit.
 */
int64_t vidx__planner_overrun(Planner *p, int64_t limit);

/* Finalises the next GOP if possible; returns 1 and fills *gop, 0 if none is ready. */
int vidx__planner_next_gop(Planner *p, PlanGop *gop);

/* Whether packet n is a wanted frame (decoders may discard every other non-reference one). */
int vidx__planner_wanted(const Planner *p, int64_t n);

/* Whether packet n carries the key flag. */
int vidx__planner_is_key(const Planner *p, int64_t n);

/* Targets in delivery order, resolved or not. */
const PlanTarget *vidx__planner_targets(const Planner *p, int64_t *n);
int64_t vidx__planner_resolved(const Planner *p);

/* Presentation-order index of pts among packets seen so far (count of smaller pts). */
int64_t vidx__planner_index_of(const Planner *p, int64_t pts);

/* All targets resolved and every GOP that holds one finalised: reading can stop. */
int vidx__planner_done(const Planner *p);

/* Packets seen and GOPs finalised as not needed, for statistics. */
int64_t vidx__planner_packets(const Planner *p);

#endif
