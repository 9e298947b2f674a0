/* For plugins on multiplexed connections (HTTP/2 streams, --pipeline): each request's
 * target becomes PATH?seq=SEQ and it gains X-Test: mux-SEQ-P (P: h2 or h1, from
 * api->request_protocol); every SKIP-th request (seq % SKIP == SKIP - 1) is skipped. Each
 * response is checked against its own request: the request view's target and X-Test, and
 * the response (bodies wanted) must carry the seq, with a latency and a time to first byte
 * no longer than it: a body "SEQ\n" and X-Seq: SEQ (nginx's
 * /rw), or, with PATH /echo, ringload-target's echo of the X-Test value. A response that
 * does not match its request is labelled "mismatch" and fails; otherwise every FAIL-th
 * (seq % FAIL == 0) fails with label "fail", the others succeed with label "ok".
 * Args: PATH:SKIP:FAIL (0: none). finish reports skipped, sent, ok, failed, mismatch. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/plugin.h"

typedef struct {
    const ringload_api *api;
    char path[64];
    unsigned long long skip, fail;
    atomic_ullong skipped, sent, ok, failed, mismatch;
} mux_plugin;

uint32_t ringload_plugin_abi(void) { return RINGLOAD_PLUGIN_ABI; }

void *ringload_plugin_init(const ringload_api *api, const char *args)
{
    mux_plugin *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->api = api;
    if (sscanf(args, "%63[^:]:%llu:%llu", p->path, &p->skip, &p->fail) != 3) {
        api->init_error("args: PATH:SKIP:FAIL");
        free(p);
        return NULL;
    }
    api->want_bodies(4096);
    return p;
}

static const char *proto_tag(const mux_plugin *p, const ringload_request *req)
{
    ringload_str proto = p->api->request_protocol(req);
    return proto.len == 6 && memcmp(proto.ptr, "HTTP/2", 6) == 0 ? "h2" : "h1";
}

int ringload_on_request(void *state, ringload_request *req)
{
    mux_plugin *p = state;
    const unsigned long long seq = p->api->request_seq(req);
    if (p->skip != 0 && seq % p->skip == p->skip - 1) {
        atomic_fetch_add_explicit(&p->skipped, 1, memory_order_relaxed);
        return 1;
    }
    char target[128], value[64];
    const int tl = snprintf(target, sizeof target, "%s?seq=%llu", p->path, seq);
    const int vl = snprintf(value, sizeof value, "mux-%llu-%s", seq, proto_tag(p, req));
    if (p->api->request_set_target(req, target, (size_t)tl) != 0 ||
        p->api->request_set_header(req, "X-Test", 6, value, (size_t)vl) != 0) {
        p->api->hook_error("mux: a change was refused");
        return 0;
    }
    atomic_fetch_add_explicit(&p->sent, 1, memory_order_relaxed);
    return 0;
}

static int has(ringload_str s, const char *want)
{
    const size_t n = strlen(want);
    for (size_t i = 0; s.ptr != NULL && i + n <= s.len; ++i)
        if (memcmp(s.ptr + i, want, n) == 0)
            return 1;
    return 0;
}

static int equals(ringload_str s, const char *want)
{
    return s.ptr != NULL && s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

/* The response answers its own request (the one the view shows). */
static int matches(const mux_plugin *p, const ringload_response *res)
{
    const ringload_api *a = p->api;
    const ringload_request *req = a->response_request(res);
    const unsigned long long seq = a->request_seq(req);
    char target[128], value[64], digits[32];
    snprintf(target, sizeof target, "%s?seq=%llu", p->path, seq);
    snprintf(value, sizeof value, "mux-%llu-%s", seq, proto_tag(p, req));
    snprintf(digits, sizeof digits, "%llu", seq);
    if (!equals(a->request_target(req), target) || !equals(a->request_header(req, "x-test", 6), value))
        return 0;
    const int64_t latency = a->response_latency_ns(res), ttfb = a->response_ttfb_ns(res);
    if (a->response_status(res) != 200 || latency <= 0 || ttfb < 0 || ttfb > latency)
        return 0;
    if (strcmp(p->path, "/echo") == 0)
        return has(a->response_body(res), value);
    char body[40];
    snprintf(body, sizeof body, "%llu\n", seq);
    return equals(a->response_body(res), body) && equals(a->response_header(res, "X-Seq", 5), digits);
}

void ringload_on_response(void *state, const ringload_response *res, ringload_verdict *verdict)
{
    mux_plugin *p = state;
    const unsigned long long seq = p->api->request_seq(p->api->response_request(res));
    if (!matches(p, res)) {
        atomic_fetch_add_explicit(&p->mismatch, 1, memory_order_relaxed);
        p->api->verdict_set(verdict, 0, "mismatch");
    } else if (p->fail != 0 && seq % p->fail == 0) {
        atomic_fetch_add_explicit(&p->failed, 1, memory_order_relaxed);
        p->api->verdict_set(verdict, 0, "fail");
    } else {
        atomic_fetch_add_explicit(&p->ok, 1, memory_order_relaxed);
        p->api->verdict_set(verdict, 1, "ok");
    }
}

void ringload_plugin_finish(void *plugin)
{
    mux_plugin *p = plugin;
    p->api->report_number("skipped", 7, (double)atomic_load(&p->skipped));
    p->api->report_number("sent", 4, (double)atomic_load(&p->sent));
    p->api->report_number("ok", 2, (double)atomic_load(&p->ok));
    p->api->report_number("failed", 6, (double)atomic_load(&p->failed));
    p->api->report_number("mismatch", 8, (double)atomic_load(&p->mismatch));
}

void ringload_plugin_free(void *plugin)
{
    free(plugin);
}
