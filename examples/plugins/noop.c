/* noop: the smallest plugin, and what the benchmark (bench/plugin_overhead.py) loads to
 * measure the cost of the hooks themselves. It sends every request as rendered and leaves
 * every verdict alone. A template: the two required exports and one hook each way.
 *
 *   ringload --plugin build/examples/plugins/libnoop.so URL */
#include "ringload/plugin.h"

uint32_t ringload_plugin_abi(void) { return RINGLOAD_PLUGIN_ABI; }

/* Any non-NULL pointer accepts; it is passed to the hooks (there is no shard_init). */
void *ringload_plugin_init(const ringload_api *api, const char *args)
{
    (void)args;
    return (void *)api;
}

int ringload_on_request(void *state, ringload_request *req)
{
    (void)state;
    (void)req;
    return 0;
}

void ringload_on_response(void *state, const ringload_response *res, ringload_verdict *verdict)
{
    (void)state;
    (void)res;
    (void)verdict;
}
