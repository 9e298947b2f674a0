/* Skips every other request: those whose per-shard sequence number (api->request_seq) is
 * odd. finish reports `skipped` and `sent`, the shards' counts added up. */
#include <stdatomic.h>
#include <stdlib.h>

#include "ringload/plugin.h"

typedef struct {
    const ringload_api *api;
    atomic_ullong skipped; /* shared by the shards: simple, and fine for a test */
    atomic_ullong sent;
} skip_plugin;

uint32_t ringload_plugin_abi(void) { return RINGLOAD_PLUGIN_ABI; }

void *ringload_plugin_init(const ringload_api *api, const char *args)
{
    (void)args;
    skip_plugin *p = calloc(1, sizeof *p);
    if (p != NULL)
        p->api = api;
    return p;
}

int ringload_on_request(void *state, ringload_request *req)
{
    skip_plugin *p = state;
    if (p->api->request_seq(req) & 1) {
        atomic_fetch_add_explicit(&p->skipped, 1, memory_order_relaxed);
        return 1;
    }
    atomic_fetch_add_explicit(&p->sent, 1, memory_order_relaxed);
    return 0;
}

void ringload_plugin_finish(void *plugin)
{
    skip_plugin *p = plugin;
    p->api->report_number("skipped", 7, (double)atomic_load(&p->skipped));
    p->api->report_number("sent", 4, (double)atomic_load(&p->sent));
}

void ringload_plugin_free(void *plugin)
{
    free(plugin);
}
