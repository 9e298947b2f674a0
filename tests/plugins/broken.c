/* Plugins that ringload must refuse to load, one per macro (test_plugins.py compiles this
 * file once per case with cc -shared -DCASE):
 *   NO_ABI        no ringload_plugin_abi
 *   NO_INIT       no ringload_plugin_init
 *   ABI_MISMATCH  ringload_plugin_abi returns RINGLOAD_PLUGIN_ABI + 1
 *   REFUSES       ringload_plugin_init returns NULL
 *   NO_HOOK       neither ringload_on_request, ringload_on_response nor ringload_on_message */
#include <stdio.h>

#include "ringload/plugin.h"

#ifndef NO_ABI
uint32_t ringload_plugin_abi(void)
{
#ifdef ABI_MISMATCH
    return RINGLOAD_PLUGIN_ABI + 1;
#else
    return RINGLOAD_PLUGIN_ABI;
#endif
}
#endif

#ifndef NO_INIT
void *ringload_plugin_init(const ringload_api *api, const char *args)
{
    (void)args;
#ifdef REFUSES
    (void)api;
    fprintf(stderr, "broken: refusing on purpose\n");
    return NULL;
#else
    return (void *)api;
#endif
}
#endif

#ifndef NO_HOOK
int ringload_on_request(void *state, ringload_request *req)
{
    (void)state;
    (void)req;
    return 0;
}
#endif
