/* A link of a plugin chain, named by its argument "NAME" or "NAME,fail":
 *   on_request   appends NAME to the request's X-Chain field ("first,second" after two)
 *   on_response  labels the response "NAME:ok" or "NAME:failed" after the verdict so far
 *                (what the plugins before it decided); with ",fail" it then fails it.
 * Two links show the order: the server sees X-Chain "a,b", the report counts b's labels. */
#include <stdlib.h>
#include <string.h>

#include "ringload/plugin.h"

typedef struct {
    const ringload_api *api;
    char name[64];
    size_t name_len;
    int fail;
} chain_plugin;

uint32_t ringload_plugin_abi(void) { return RINGLOAD_PLUGIN_ABI; }

void *ringload_plugin_init(const ringload_api *api, const char *args)
{
    const char *comma = strchr(args, ',');
    size_t len = comma ? (size_t)(comma - args) : strlen(args);
    if (len == 0 || len >= 48)
        return NULL;
    chain_plugin *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->api = api;
    memcpy(p->name, args, len);
    p->name_len = len;
    p->fail = comma != NULL && strcmp(comma + 1, "fail") == 0;
    return p;
}

int ringload_on_request(void *state, ringload_request *req)
{
    chain_plugin *p = state;
    char value[1024];
    ringload_str old = p->api->request_header(req, "X-Chain", 7);
    size_t n = 0;
    if (old.len > 0 && old.len < sizeof value - 64) {
        memcpy(value, old.ptr, old.len);
        n = old.len;
        value[n++] = ',';
    }
    memcpy(value + n, p->name, p->name_len);
    n += p->name_len;
    return p->api->request_set_header(req, "X-Chain", 7, value, n) == 0 ? 0 : 1;
}

void ringload_on_response(void *state, const ringload_response *res, ringload_verdict *verdict)
{
    (void)res;
    chain_plugin *p = state;
    char label[64];
    int ok = p->api->verdict_ok(verdict);
    memcpy(label, p->name, p->name_len);
    strcpy(label + p->name_len, ok ? ":ok" : ":failed");
    p->api->verdict_set(verdict, p->fail ? 0 : ok, label);
}

void ringload_plugin_free(void *plugin)
{
    free(plugin);
}
