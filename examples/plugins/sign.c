/* sign: a request id and an HMAC-SHA256 signature on every request.
 *
 *   ringload --plugin build/examples/plugins/libsign.so:KEY URL
 *
 * Adds, after any earlier plugin's changes:
 *   X-Request-Id: SHARD-SEQ            unique in the run (the shard, its request count)
 *   X-Signature:  hex(HMAC-SHA256(KEY, METHOD " " TARGET "\n" X-Request-Id "\n" BODY))
 * METHOD, TARGET (path and query) and BODY as sent. KEY is the argument's bytes as given;
 * without one, init refuses and ringload stops before any traffic.
 *
 * A request that cannot be signed is skipped rather than sent unsigned: its head has no room
 * for the two fields (ringload's 16 KiB), or wolfSSL failed (then the shard skips all that
 * follow). finish reports `signed` and `skipped`.
 *
 * wolfSSL's HMAC: each shard keys its own Hmac once; wc_HmacFinal leaves it ready for the
 * next message under the same key, so a request costs the message's hashing only. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/plugin.h"
#include "shard_list.h"

typedef struct {
    const ringload_api *api;
    unsigned char *key;
    size_t key_len;
    shard_list shards;
} sign_plugin;

typedef struct {
    shard_link link;
    const ringload_api *api;
    uint64_t signed_count;
    uint64_t skipped;
    unsigned shard;
    int keyed; /* 0: wolfSSL refused the key (then every request is skipped) */
    Hmac hmac;
} sign_shard;

uint32_t ringload_plugin_abi(void) { return RINGLOAD_PLUGIN_ABI; }

void *ringload_plugin_init(const ringload_api *api, const char *args)
{
    size_t len = strlen(args);
    if (len == 0) {
        fprintf(stderr, "sign: no key: load it as --plugin PATH/libsign.so:KEY\n");
        return NULL;
    }
    sign_plugin *p = calloc(1, sizeof *p);
    if (p == NULL || (p->key = malloc(len)) == NULL) {
        free(p);
        return NULL;
    }
    memcpy(p->key, args, len);
    p->key_len = len;
    p->api = api;
    return p;
}

void *ringload_plugin_shard_init(void *plugin, unsigned shard)
{
    sign_plugin *p = plugin;
    sign_shard *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL; /* the hooks skip every request of this shard */
    s->api = p->api;
    s->shard = shard;
    s->keyed = wc_HmacInit(&s->hmac, NULL, INVALID_DEVID) == 0 &&
               wc_HmacSetKey(&s->hmac, WC_SHA256, p->key, (word32)p->key_len) == 0;
    shard_list_push(&p->shards, &s->link);
    return s;
}

static int update(Hmac *h, const void *data, size_t len)
{
    return wc_HmacUpdate(h, (const byte *)data, (word32)len) == 0;
}

/* hex(HMAC) of the request as it stands, into out[2 * WC_SHA256_DIGEST_SIZE]. */
static int signature(sign_shard *s, const ringload_request *req, ringload_str id, char *out)
{
    const ringload_api *api = s->api;
    ringload_str method = api->request_method(req);
    ringload_str target = api->request_target(req);
    ringload_str body = api->request_body(req);
    byte mac[WC_SHA256_DIGEST_SIZE];
    if (!(update(&s->hmac, method.ptr, method.len) && update(&s->hmac, " ", 1) &&
          update(&s->hmac, target.ptr, target.len) && update(&s->hmac, "\n", 1) &&
          update(&s->hmac, id.ptr, id.len) && update(&s->hmac, "\n", 1) &&
          update(&s->hmac, body.ptr, body.len) && wc_HmacFinal(&s->hmac, mac) == 0))
        return 0;
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof mac; ++i) {
        out[2 * i] = digits[mac[i] >> 4];
        out[2 * i + 1] = digits[mac[i] & 15];
    }
    return 1;
}

int ringload_on_request(void *state, ringload_request *req)
{
    sign_shard *s = state;
    if (s == NULL || !s->keyed)
        return 1;
    const ringload_api *api = s->api;
    char id[48];
    int id_len = snprintf(id, sizeof id, "%u-%llu", s->shard, (unsigned long long)api->request_seq(req));
    char sig[2 * WC_SHA256_DIGEST_SIZE];
    ringload_str id_str = {id, (size_t)id_len};
    if (api->request_set_header(req, "X-Request-Id", 12, id, (size_t)id_len) != 0) {
        ++s->skipped;
        return 1;
    }
    if (!signature(s, req, id_str, sig)) {
        s->keyed = 0; /* a message half hashed: the Hmac's state is not to be trusted */
        ++s->skipped;
        return 1;
    }
    if (api->request_set_header(req, "X-Signature", 11, sig, sizeof sig) != 0) {
        ++s->skipped;
        return 1;
    }
    ++s->signed_count;
    return 0;
}

void ringload_plugin_finish(void *plugin)
{
    sign_plugin *p = plugin;
    uint64_t signed_count = 0, skipped = 0;
    for (shard_link *l = shard_list_drain(&p->shards); l != NULL;) {
        sign_shard *s = SHARD_OF(sign_shard, l, link);
        l = l->next;
        signed_count += s->signed_count;
        skipped += s->skipped;
        wc_HmacFree(&s->hmac);
        free(s);
    }
    p->api->report_number("signed", 6, (double)signed_count);
    p->api->report_number("skipped", 7, (double)skipped);
}

void ringload_plugin_free(void *plugin)
{
    sign_plugin *p = plugin;
    free(p->key);
    free(p);
}
