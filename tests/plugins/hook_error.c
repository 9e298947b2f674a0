/* A plugin whose hooks fail on purpose through api->hook_error (what the Python plugin does
 * with an exception), chosen by its argument:
 *   request:N   on_request fails every request whose seq % N == N - 1 (not sent)
 *   response:N  on_response fails every response whose request's seq % N == N - 1
 *   init        ringload_plugin_init says why with api->init_error and returns NULL
 * The message names the hook and the seq: "on_request failed at seq 9". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringload/plugin.h"

typedef struct {
    const ringload_api *api;
    int on_response; /* 0: on_request fails */
    unsigned long every;
} hook_error_plugin;

uint32_t ringload_plugin_abi(void) { return RINGLOAD_PLUGIN_ABI; }

void *ringload_plugin_init(const ringload_api *api, const char *args)
{
    if (strcmp(args, "init") == 0) {
        api->init_error("hook_error: init fails on purpose");
        return NULL;
    }
    const char *colon = strchr(args, ':');
    if (colon == NULL)
        return NULL;
    hook_error_plugin *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->api = api;
    p->on_response = strncmp(args, "response", (size_t)(colon - args)) == 0;
    p->every = strtoul(colon + 1, NULL, 10);
    if (p->every == 0) {
        free(p);
        return NULL;
    }
    return p;
}

static void maybe_fail(const hook_error_plugin *p, const char *hook, uint64_t seq)
{
    char message[80];
    if (seq % p->every != p->every - 1)
        return;
    snprintf(message, sizeof message, "%s failed at seq %llu", hook, (unsigned long long)seq);
    p->api->hook_error(message);
}

int ringload_on_request(void *state, ringload_request *req)
{
    const hook_error_plugin *p = state;
    if (!p->on_response)
        maybe_fail(p, "on_request", p->api->request_seq(req));
    return 0;
}

void ringload_on_response(void *state, const ringload_response *res, ringload_verdict *verdict)
{
    (void)verdict;
    const hook_error_plugin *p = state;
    if (p->on_response)
        maybe_fail(p, "on_response", p->api->request_seq(p->api->response_request(res)));
}

void ringload_plugin_free(void *plugin)
{
    free(plugin);
}
