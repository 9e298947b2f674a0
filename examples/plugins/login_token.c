/* login_token: each connection logs in first, then sends its token.
 *
 *   ringload --plugin build/examples/plugins/liblogin_token.so:/login URL
 *
 * The argument is the login path (path and query, starting with '/'). On each connection
 * the first request becomes the login: its method POST, its target the login path, its body
 * empty (its other header fields stay: add credentials with -H). The token is taken from
 * the login response's `X-Token` header, else from `"token": "..."` in its body (a scan: the
 * first "token" member whose value is a string without escapes; at most 1024 bytes). Every
 * later request on that connection carries `Authorization: Bearer TOKEN`.
 *
 * A login response without a token counts as failed (label `login:no-token`) and the
 * connection's next request logs in again; one with a token is labelled `login`. A request
 * that went out as a login and never got a response (a timeout, a reset) also leaves the
 * connection logged out. A response saying `Connection: close` logs the connection out: the
 * server closes it and ringload opens a new one in the same slot.
 *
 * State per connection slot (api->request_conn) in each shard's own table, so any number of
 * shards works without locks. finish reports `logins`, `logins_without_token` and
 * `authorized` (requests sent with a token). */
#define _GNU_SOURCE /* memmem, strncasecmp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ringload/plugin.h"
#include "shard_list.h"

enum { TOKEN_MAX = 1024, LOGIN_BODY_BYTES = 16384 };

enum conn_state { LOGGED_OUT = 0, LOGGING_IN, LOGGED_IN };

typedef struct {
    uint32_t gen;        /* the socket the state belongs to (api->request_conn_gen) */
    unsigned char state; /* enum conn_state */
    unsigned short token_len;
    char token[TOKEN_MAX];
} conn_auth;

typedef struct {
    const ringload_api *api;
    char *login_path;
    size_t login_path_len;
    shard_list shards;
} login_plugin;

typedef struct {
    shard_link link;
    const login_plugin *plugin;
    conn_auth *conns; /* indexed by connection slot; grown as slots appear */
    size_t conns_len;
    uint64_t logins;
    uint64_t no_token;
    uint64_t authorized;
} login_shard;

uint32_t ringload_plugin_abi(void) { return RINGLOAD_PLUGIN_ABI; }

void *ringload_plugin_init(const ringload_api *api, const char *args)
{
    if (args[0] != '/') {
        fprintf(stderr, "login_token: the argument is the login path, e.g. :/login (got '%s')\n", args);
        return NULL;
    }
    login_plugin *p = calloc(1, sizeof *p);
    if (p == NULL || (p->login_path = strdup(args)) == NULL) {
        free(p);
        return NULL;
    }
    p->login_path_len = strlen(args);
    p->api = api;
    api->want_bodies(LOGIN_BODY_BYTES);
    return p;
}

void *ringload_plugin_shard_init(void *plugin, unsigned shard)
{
    (void)shard;
    login_plugin *p = plugin;
    login_shard *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL; /* the hooks then skip every request of this shard */
    s->plugin = p;
    shard_list_push(&p->shards, &s->link);
    return s;
}

/* The slot's state, the table grown to hold it; NULL: out of memory. */
static conn_auth *conn_of(login_shard *s, unsigned slot)
{
    if (slot >= s->conns_len) {
        size_t len = s->conns_len ? s->conns_len : 16;
        while (len <= slot)
            len *= 2;
        conn_auth *grown = realloc(s->conns, len * sizeof *grown);
        if (grown == NULL)
            return NULL;
        memset(grown + s->conns_len, 0, (len - s->conns_len) * sizeof *grown);
        s->conns = grown;
        s->conns_len = len;
    }
    return &s->conns[slot];
}

int ringload_on_request(void *state, ringload_request *req)
{
    login_shard *s = state;
    if (s == NULL)
        return 1;
    const ringload_api *api = s->plugin->api;
    conn_auth *c = conn_of(s, api->request_conn(req));
    if (c == NULL)
        return 1;
    /* A new socket in the slot (the server closed the last one, or it failed): log in again. */
    const uint32_t gen = api->request_conn_gen(req);
    if (c->gen != gen) {
        c->gen = gen;
        c->state = LOGGED_OUT;
    }
    if (c->state == LOGGED_IN) {
        char value[7 + TOKEN_MAX];
        memcpy(value, "Bearer ", 7);
        memcpy(value + 7, c->token, c->token_len);
        if (api->request_set_header(req, "Authorization", 13, value, 7 + (size_t)c->token_len) != 0)
            return 1;
        ++s->authorized;
        return 0;
    }
    /* Logged out, or a login that never got its response: log in (again). */
    if (api->request_set_method(req, "POST", 4) != 0 ||
        api->request_set_target(req, s->plugin->login_path, s->plugin->login_path_len) != 0 ||
        api->request_set_body(req, "", 0) != 0 ||
        api->request_set_header(req, "Content-Length", 14, "0", 1) != 0)
        return 1;
    c->state = LOGGING_IN;
    return 0;
}

/* The value of the first "token": "..." member of a JSON body; {NULL, 0}: none. */
static ringload_str body_token(ringload_str body)
{
    ringload_str none = {NULL, 0};
    if (body.ptr == NULL)
        return none;
    const char *end = body.ptr + body.len;
    for (const char *q = body.ptr; (q = memmem(q, (size_t)(end - q), "\"token\"", 7)) != NULL; q += 7) {
        const char *v = q + 7;
        while (v < end && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r'))
            ++v;
        if (v == end || *v != ':')
            continue;
        ++v;
        while (v < end && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r'))
            ++v;
        if (v == end || *v != '"')
            continue;
        const char *start = ++v;
        while (v < end && *v != '"' && *v != '\\')
            ++v;
        if (v == end || *v != '"')
            return none;
        ringload_str t = {start, (size_t)(v - start)};
        return t;
    }
    return none;
}

static int usable(ringload_str token)
{
    if (token.ptr == NULL || token.len == 0 || token.len > TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < token.len; ++i) {
        unsigned char ch = (unsigned char)token.ptr[i];
        if (ch < 0x20 || ch == 0x7f)
            return 0;
    }
    return 1;
}

static int says_close(ringload_str connection)
{
    for (size_t i = 0; i + 5 <= connection.len; ++i)
        if (strncasecmp(connection.ptr + i, "close", 5) == 0)
            return 1;
    return 0;
}

void ringload_on_response(void *state, const ringload_response *res, ringload_verdict *verdict)
{
    login_shard *s = state;
    if (s == NULL)
        return;
    const ringload_api *api = s->plugin->api;
    conn_auth *c = conn_of(s, api->request_conn(api->response_request(res)));
    if (c == NULL)
        return;
    if (c->state == LOGGING_IN) {
        ringload_str token = api->response_header(res, "X-Token", 7);
        if (!usable(token))
            token = body_token(api->response_body(res));
        if (usable(token)) {
            memcpy(c->token, token.ptr, token.len);
            c->token_len = (unsigned short)token.len;
            c->state = LOGGED_IN;
            ++s->logins;
            api->verdict_set(verdict, api->verdict_ok(verdict), "login");
        } else {
            c->state = LOGGED_OUT;
            ++s->no_token;
            api->verdict_set(verdict, 0, "login:no-token");
        }
    }
    if (says_close(api->response_header(res, "Connection", 10)))
        c->state = LOGGED_OUT;
}

void ringload_plugin_finish(void *plugin)
{
    login_plugin *p = plugin;
    uint64_t logins = 0, no_token = 0, authorized = 0;
    for (shard_link *l = shard_list_drain(&p->shards); l != NULL;) {
        login_shard *s = SHARD_OF(login_shard, l, link);
        l = l->next;
        logins += s->logins;
        no_token += s->no_token;
        authorized += s->authorized;
        free(s->conns);
        free(s);
    }
    p->api->report_number("logins", 6, (double)logins);
    p->api->report_number("logins_without_token", 20, (double)no_token);
    p->api->report_number("authorized", 10, (double)authorized);
}

void ringload_plugin_free(void *plugin)
{
    login_plugin *p = plugin;
    free(p->login_path);
    free(p);
}
