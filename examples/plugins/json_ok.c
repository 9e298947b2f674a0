/* json_ok: a response whose JSON body says "ok": false is a failure.
 *
 *   ringload --plugin build/examples/plugins/libjson_ok.so[:MAX_BYTES] URL
 *
 * Asks ringload for response bodies (api->want_bodies), up to MAX_BYTES each (default
 * 65536; the rest of a longer body is not seen). Each response is then labelled:
 *   ok:false   the body has "ok": false; the response counts as failed, whatever its status
 *   ok:true    any other response; its verdict stays the status rule's
 * finish reports `ok_true` and `ok_false` (the labels' counts) and `no_member` (those of
 * ok_true whose body has no "ok" member at all).
 *
 * What it accepts: a small scan, not a JSON parser. It looks for the first "ok" (quotes
 * included) followed, after optional JSON whitespace, by ':' and then by the literal true or
 * false ending at a non-identifier byte. The member may sit at any depth. A quoted "ok" that
 * is a value (`"status": "ok"`) is passed over, as is an escaped one inside a string
 * (`"say \"ok\": false"`: the quote after ok is escaped). A key spelled with escapes
 * ("\u006fk") is not recognised, and nothing checks that the body is valid JSON. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/plugin.h"
#include "shard_list.h"

enum { DEFAULT_MAX_BYTES = 65536 };

typedef struct {
    const ringload_api *api;
    shard_list shards;
} json_plugin;

typedef struct {
    shard_link link;
    const ringload_api *api;
    uint64_t ok_true;
    uint64_t ok_false;
    uint64_t no_member;
} json_shard;

uint32_t ringload_plugin_abi(void) { return RINGLOAD_PLUGIN_ABI; }

void *ringload_plugin_init(const ringload_api *api, const char *args)
{
    unsigned long long max = DEFAULT_MAX_BYTES;
    if (args[0] != '\0') {
        char *end = NULL;
        max = strtoull(args, &end, 10);
        if (*end != '\0' || max == 0 || args[0] == '-') {
            fprintf(stderr, "json_ok: the argument is the body bytes to scan (a number > 0), not '%s'\n", args);
            return NULL;
        }
    }
    json_plugin *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->api = api;
    api->want_bodies((size_t)max);
    return p;
}

void *ringload_plugin_shard_init(void *plugin, unsigned shard)
{
    (void)shard;
    json_plugin *p = plugin;
    json_shard *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL; /* the hook then leaves every verdict alone */
    s->api = p->api;
    shard_list_push(&p->shards, &s->link);
    return s;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        ++p;
    return p;
}

/* `word` at p, not followed by a letter, digit or '_'. */
static int literal(const char *p, const char *end, const char *word, size_t len)
{
    if ((size_t)(end - p) < len || memcmp(p, word, len) != 0)
        return 0;
    if (p + len == end)
        return 1;
    char next = p[len];
    return !((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
             (next >= '0' && next <= '9') || next == '_');
}

/* 1: "ok": true, 0: "ok": false, -1: no such member. */
static int ok_member(ringload_str body)
{
    if (body.ptr == NULL)
        return -1;
    const char *end = body.ptr + body.len;
    for (const char *q = body.ptr; (q = memmem(q, (size_t)(end - q), "\"ok\"", 4)) != NULL; q += 4) {
        const char *v = skip_ws(q + 4, end);
        if (v == end || *v != ':')
            continue;
        v = skip_ws(v + 1, end);
        if (literal(v, end, "true", 4))
            return 1;
        if (literal(v, end, "false", 5))
            return 0;
    }
    return -1;
}

void ringload_on_response(void *state, const ringload_response *res, ringload_verdict *verdict)
{
    json_shard *s = state;
    if (s == NULL)
        return;
    const ringload_api *api = s->api;
    int ok = ok_member(api->response_body(res));
    if (ok == 0) {
        ++s->ok_false;
        api->verdict_set(verdict, 0, "ok:false");
        return;
    }
    ++s->ok_true;
    s->no_member += ok < 0;
    api->verdict_set(verdict, api->verdict_ok(verdict), "ok:true");
}

void ringload_plugin_finish(void *plugin)
{
    json_plugin *p = plugin;
    uint64_t ok_true = 0, ok_false = 0, no_member = 0;
    for (shard_link *l = shard_list_drain(&p->shards); l != NULL;) {
        json_shard *s = SHARD_OF(json_shard, l, link);
        l = l->next;
        ok_true += s->ok_true;
        ok_false += s->ok_false;
        no_member += s->no_member;
        free(s);
    }
    p->api->report_number("ok_true", 7, (double)ok_true);
    p->api->report_number("ok_false", 8, (double)ok_false);
    p->api->report_number("no_member", 9, (double)no_member);
}

void ringload_plugin_free(void *plugin)
{
    free(plugin);
}
