/*
 * emit.c - the events of a batch run (start, each video, ticks, end), each
 * with the run's summary so far: used by the supervisor (run.c) and by the
 * recording of videos (record.c), which share nothing else.
 */
#include "batch/emit.h"

void vidx__run_emit(Run *r, VidxRunEventType type, const VidxRunEvent *video)
{
    VidxRunEvent ev = {0};
    if (!r->set->on_event)
        return;
    if (video)
        ev = *video;
    ev.type = type;
    r->sum.seconds = vidx__now() - r->t0;
    ev.summary = &r->sum;
    ev.other_shards = r->other_shards;
    r->set->on_event(r->set->opaque, &ev);
}
