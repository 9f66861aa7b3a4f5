/*
 * test_queue.c - the work queue's semantics at the catalog level
 * (catalog/queue.h on PostgreSQL, a fresh database per test): enqueue is
 * idempotent; claims take the oldest rows of one options set and never the
 * same row twice; a finish with another claim's fence is refused and a
 * repeated finish is not; leases that run out put the video back, then in
 * quarantine after max attempts, and report the dead worker; a worker
 * declared dead cannot renew; leaving hands back without penalty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "pg_fixture.h"

#include "catalog/queue.h"

typedef struct Fixture {
    VidxCatalog *cat;
    char db[64], url[512];
    int64_t options;
} Fixture;

static const char *const paths[] = {"/lib/a.mp4", "/lib/b \"q\".mp4", "/lib/c\\d.mp4",
                                    "/lib/d,e.mp4", "/lib/ü.mp4"};

static int setup(void **state)
{
    Fixture *f = calloc(1, sizeof(*f));
    int64_t added, requeued, waiting;
    char hash[32], *settings = NULL;
    if (!f || pg_fresh_db(f->db, f->url) < 0 || vidx__catalog_open_url(&f->cat, f->url) < 0)
        return -1;
    if (vidx__queue_enqueue(f->cat, "h1", "{\"x\":1}", paths, 5, 0, &added, &requeued) < 0 ||
        added != 5)
        return -1;
    if (vidx__queue_pending(f->cat, 0, 60, &f->options, hash, &settings, &waiting) != 1 ||
        strcmp(hash, "h1") || strcmp(settings, "{\"x\":1}"))
        return -1;
    free(settings);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    vidx_catalog_close(&f->cat);
    pg_drop_db(f->db);
    free(f);
    return 0;
}

static void free_items(QueueItem *it, int n)
{
    for (int i = 0; i < n; i++)
        free(it[i].path);
}

static int finish(Fixture *f, const QueueItem *it, QueueState st)
{
    assert_int_equal(vidx__catalog_begin(f->cat), 0);
    int ret = vidx__queue_finish(f->cat, it->id, it->fence, st, "why");
    assert_int_equal(vidx__catalog_commit(f->cat), 0);
    return ret;
}

static void test_enqueue_idempotent(void **state)
{
    Fixture *f = *state;
    int64_t added, requeued;
    assert_int_equal(vidx__queue_enqueue(f->cat, "h1", "{\"x\":1}", paths, 5, 0, &added, &requeued),
                     0);
    assert_int_equal(added, 0);
    assert_int_equal(vidx__queue_enqueue(f->cat, "h2", "{}", paths, 2, 0, &added, &requeued), 0);
    assert_int_equal(added, 2); /* other options: other work */
}

static void test_claims_disjoint_in_order(void **state)
{
    Fixture *f = *state;
    int64_t w1, w2;
    QueueItem a[8], b[8];
    assert_int_equal(vidx__queue_join(f->cat, "h", 1, &w1), 0);
    assert_int_equal(vidx__queue_join(f->cat, "h", 2, &w2), 0);
    assert_int_equal(vidx__queue_claim(f->cat, w1, f->options, 60, a, 2), 2);
    assert_int_equal(vidx__queue_claim(f->cat, w2, f->options, 60, b, 8), 3);
    assert_string_equal(a[0].path, paths[0]); /* the oldest first, paths as given */
    assert_string_equal(a[1].path, paths[1]);
    assert_string_equal(b[0].path, paths[2]);
    assert_string_equal(b[2].path, paths[4]);
    assert_true(a[0].fence != a[1].fence && a[1].fence != b[0].fence);
    assert_int_equal(a[0].attempts, 1);
    assert_int_equal(vidx__queue_claim(f->cat, w1, f->options, 60, a + 2, 8), 0);
    free_items(a, 2), free_items(b, 3);
}

static void test_fencing(void **state)
{
    Fixture *f = *state;
    int64_t w;
    QueueItem it[1];
    assert_int_equal(vidx__queue_join(f->cat, "h", 1, &w), 0);
    assert_int_equal(vidx__queue_claim(f->cat, w, f->options, 60, it, 1), 1);
    QueueItem stale = it[0];
    stale.fence--;
    assert_int_equal(finish(f, &stale, QUEUE_DONE), 0); /* another claim's token: refused */
    assert_int_equal(finish(f, &it[0], QUEUE_DONE), 1);
    assert_int_equal(finish(f, &it[0], QUEUE_DONE), 1);   /* said again: still yes */
    assert_int_equal(finish(f, &it[0], QUEUE_FAILED), 0); /* but not otherwise */
    free_items(it, 1);
}

typedef struct Seen {
    int leases, dead, quarantined;
    int64_t dead_worker;
} Seen;

static void seen(void *opaque, const QueueExpired *e)
{
    Seen *s = opaque;
    if (e->path) {
        s->leases++;
        s->quarantined += e->state == QUEUE_QUARANTINED;
    } else {
        s->dead++;
        s->dead_worker = e->worker;
    }
}

static void test_expiry_and_quarantine(void **state)
{
    Fixture *f = *state;
    int64_t w;
    QueueItem it[1];
    assert_int_equal(vidx__queue_join(f->cat, "h", 1, &w), 0);
    for (int attempt = 1; attempt <= 2; attempt++) {
        Seen s = {0};
        assert_int_equal(vidx__queue_claim(f->cat, w, f->options, 0.05, it, 1), 1);
        assert_int_equal(it[0].attempts, attempt);
        assert_string_equal(it[0].path, paths[0]); /* back first in line */
        usleep(200000);
        assert_int_equal(vidx__queue_expire(f->cat, 60, 2, seen, &s), 1);
        assert_int_equal(s.leases, 1);
        assert_int_equal(s.quarantined, attempt == 2);
        assert_int_equal(finish(f, &it[0], QUEUE_DONE), 0); /* too late */
        free_items(it, 1);
    }
    assert_int_equal(vidx__queue_claim(f->cat, w, f->options, 60, it, 1), 1);
    assert_string_equal(it[0].path, paths[1]); /* the quarantined one is not handed out */
    free_items(it, 1);
}

static void test_dead_worker(void **state)
{
    Fixture *f = *state;
    int64_t w1, w2;
    Seen s = {0};
    assert_int_equal(vidx__queue_join(f->cat, "h", 1, &w1), 0);
    assert_int_equal(vidx__queue_join(f->cat, "h", 2, &w2), 0);
    assert_int_equal(vidx__queue_heartbeat(f->cat, w1, 60), 1);
    usleep(300000);
    assert_int_equal(vidx__queue_heartbeat(f->cat, w2, 60), 1);
    assert_int_equal(vidx__queue_expire(f->cat, 0.2, 3, seen, &s), 1);
    assert_int_equal(s.dead, 1);
    assert_int_equal(s.dead_worker, w1);
    assert_int_equal(vidx__queue_heartbeat(f->cat, w1, 60), 0); /* declared dead: stays so */
}

static void test_leave_hands_back(void **state)
{
    Fixture *f = *state;
    int64_t w, waiting, options;
    QueueItem it[2];
    char hash[32], *settings = NULL;
    assert_int_equal(vidx__queue_join(f->cat, "h", 1, &w), 0);
    assert_int_equal(vidx__queue_claim(f->cat, w, f->options, 60, it, 2), 2);
    assert_int_equal(vidx__queue_pending(f->cat, w, 60, &options, hash, &settings, &waiting), 1);
    free(settings);
    assert_int_equal(waiting, 2);
    assert_int_equal(vidx__queue_leave(f->cat, w), 0);
    free_items(it, 2);
    assert_int_equal(vidx__queue_join(f->cat, "h", 2, &w), 0);
    assert_int_equal(vidx__queue_claim(f->cat, w, f->options, 60, it, 1), 1);
    assert_string_equal(it[0].path, paths[0]);
    assert_int_equal(it[0].attempts, 1); /* handed back: not counted against it */
    free_items(it, 1);
}

static void test_retry_requeues(void **state)
{
    Fixture *f = *state;
    int64_t w, added, requeued;
    QueueItem it[1];
    assert_int_equal(vidx__queue_join(f->cat, "h", 1, &w), 0);
    assert_int_equal(vidx__queue_claim(f->cat, w, f->options, 60, it, 1), 1);
    assert_int_equal(finish(f, &it[0], QUEUE_FAILED), 1);
    free_items(it, 1);
    assert_int_equal(vidx__queue_enqueue(f->cat, "h1", "{\"x\":1}", paths, 5, 1, &added, &requeued),
                     0);
    assert_int_equal(added, 0);
    assert_int_equal(requeued, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enqueue_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims_disjoint_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fencing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_and_quarantine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_hands_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_requeues, setup, teardown),
    };
    if (!getenv("VIDX_TEST_PG")) {
        const char *no = getenv("VIDX_TEST_NO_SERVICES");
        if (no && !strcmp(no, "1")) {
            printf("skipped: no PostgreSQL (VIDX_TEST_NO_SERVICES=1)\n");
            return 77;
        }
        fprintf(stderr, "VIDX_TEST_PG is not set (scripts/test.sh starts a server; by hand: "
                        "eval \"$(scripts/services.sh pg-start)\")\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
