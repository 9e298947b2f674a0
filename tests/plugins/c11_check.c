/* include/ringload/plugin.h compiles alone as plain C11 (test_plugins.py: cc -std=c11
 * -Wall -Wextra -Wpedantic -Werror -fsyntax-only), and its declarations are what a plugin
 * defines: these definitions must match them exactly. */
#include "ringload/plugin.h"

uint32_t ringload_plugin_abi(void) { return RINGLOAD_PLUGIN_ABI; }
void *ringload_plugin_init(const ringload_api *api, const char *args) { (void)args; return (void *)api; }
void *ringload_plugin_shard_init(void *plugin, unsigned shard) { (void)shard; return plugin; }
int ringload_on_request(void *shard_state, ringload_request *req) { (void)shard_state; (void)req; return 0; }
void ringload_on_response(void *shard_state, const ringload_response *res, ringload_verdict *verdict)
{
    (void)shard_state;
    (void)res;
    (void)verdict;
}
void ringload_on_message(void *shard_state, const ringload_response *res, int kind, ringload_str name,
                         ringload_str data)
{
    (void)shard_state;
    (void)res;
    (void)kind;
    (void)name;
    (void)data;
}
void ringload_plugin_finish(void *plugin) { (void)plugin; }

/* The api table's first thirteen members, in the order issue 11 fixed. */
_Static_assert(offsetof(ringload_api, abi) == 0, "abi first");
_Static_assert(offsetof(ringload_api, verdict_set) < offsetof(ringload_api, want_bodies),
               "members are appended after the first thirteen");
_Static_assert(RINGLOAD_PLUGIN_ABI == 1, "ABI 1");
