/* ringload plugins: a plain C ABI, so a plugin can be written in C, C++, Rust or Zig.
 *
 * A plugin is a shared object loaded with dlopen (ringload --plugin PATH[:ARGS], or
 * RunConfig::plugins). It exports the functions below; ringload passes it a table of
 * functions (ringload_api) to read and change requests and responses. The table's members
 * are only ever appended, so a plugin built against ABI 1 works with every later ringload
 * that still says RINGLOAD_PLUGIN_ABI 1.
 *
 * Lifecycle, per run:
 *   ringload_plugin_abi()                   checked first: must return RINGLOAD_PLUGIN_ABI
 *   ringload_plugin_init(api, args)         once, before any traffic; NULL: refuse to run
 *                                           (ringload exits 2 with the plugin's path)
 *   ringload_plugin_shard_init(p, shard)    optional: once per shard and run, on the shard's
 *                                           thread; its result (NULL too) is the shard_state
 *                                           the hooks get (absent: the plugin pointer)
 *   ringload_on_request / ringload_on_response / ringload_on_message, on shard threads
 *   ringload_plugin_finish(p)               optional: once per run, after every shard
 *                                           stopped; may add numbers to the report
 *                                           (api->report_number). The plugin stays loaded
 *                                           and its state valid: a next run on the same
 *                                           engine calls shard_init and the hooks again
 *   ringload_plugin_free(p)                 optional: once, when the engine unloads the
 *                                           plugin (its destruction, or a later plugin
 *                                           failing to load): free what init allocated
 *
 * Threads. Hooks run on the shard's thread, the only thread allowed to drive its ring:
 * each shard has its own shard_state, so a plugin needs no locks for per-shard data. Time
 * spent in a hook delays the shard: it shows up as send lag and latency. Keep hooks short;
 * never block.
 *
 * Memory. Strings given to a plugin (ringload_str) are valid during the hook call only.
 * Strings a plugin passes in are copied before the call returns. Nothing is NUL-terminated
 * unless said so.
 *
 * Requests. ringload_on_request sees each HTTP request (an SSE request, a WebSocket
 * opening handshake too) just before it is sent, and may change its method, target, headers
 * and body. Changes are made in memory ringload keeps per connection: a request no plugin
 * changes is sent as rendered, without a copy. The target is the path and query (it must
 * start with '/'): the request stays with its origin (scheme, host, port), which the run
 * already knows; Host is the origin's unless the plugin sets it. Returning 1 skips the
 * request: it is not sent and counts as `skipped` in the report.
 *
 * Multiplexed connections. An HTTP/2 stream (--h2c, --http2) and a pipelined request
 * (--pipeline N) are requests like any other: each passes through ringload_on_request before
 * it is submitted (HTTP/2: a skip opens no stream) or written into its connection's batch,
 * and its response through ringload_on_response, with its own request, body and verdict
 * even while up to --max-streams (or N) share the connection. On HTTP/2 the head a plugin
 * edits is the HTTP/1.1 form above; it is sent as the stream's header list: names
 * lower-cased, Host as :authority, connection-specific fields (Connection, Keep-Alive,
 * Transfer-Encoding, Upgrade ...) dropped. Response header names arrive lower-cased on
 * HTTP/2. request_conn / request_conn_gen are the connection's, shared by its streams;
 * request_protocol tells the two apart. A stream the server did not process (above a
 * GOAWAY's last_stream_id) is sent again as a new request: on_request sees it again, with
 * a new request_seq; the first attempt never reaches on_response.
 *
 * Responses. ringload_on_response sees every complete response (and every stream that
 * ended well), with its status and headers; its body only when a plugin asked for bodies
 * at init (api->want_bodies), up to the size asked. It may set the verdict: success or
 * failure, overriding the status rule, and a label the report counts (labels). With several
 * plugins each sees the verdict the ones before it left; the last label set is counted.
 * Failures without a response (timeouts, resets) are counted, not shown to plugins.
 */
#ifndef RINGLOAD_PLUGIN_H
#define RINGLOAD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RINGLOAD_PLUGIN_ABI 1

/* Marks a plugin's exported functions visible when it is built with -fvisibility=hidden. */
#if defined(__GNUC__)
#define RINGLOAD_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define RINGLOAD_PLUGIN_EXPORT
#endif

typedef struct ringload_request ringload_request;   /* opaque: the request about to be sent */
typedef struct ringload_response ringload_response; /* opaque: a finished response */
typedef struct ringload_verdict ringload_verdict;   /* opaque: what the response counts as */

typedef struct {
    const char *ptr; /* NULL with len 0: absent */
    size_t len;
} ringload_str;

/* What ringload_on_message reports. */
enum {
    RINGLOAD_MESSAGE_SSE_EVENT = 1, /* name: the event type (empty: "message"); data: its data */
    RINGLOAD_MESSAGE_WS_TEXT = 2,   /* data: the message's bytes (one call per fragment piece) */
    RINGLOAD_MESSAGE_WS_BINARY = 3
};

/* Provided by ringload. Functions that change something return 0 on success, -1 when the
 * change is refused (too long: the head is limited to 16 KiB; a bad name or value: CR, LF
 * or NUL in a value, a non-token name or method; a target not starting with '/'). */
typedef struct ringload_api {
    uint32_t abi; /* RINGLOAD_PLUGIN_ABI of the ringload that loaded the plugin */

    int (*request_set_method)(ringload_request *, const char *, size_t);
    int (*request_set_target)(ringload_request *, const char *, size_t); /* path and query */
    int (*request_set_header)(ringload_request *, const char *name, size_t name_len,
                              const char *value, size_t value_len); /* replaces or adds */
    int (*request_remove_header)(ringload_request *, const char *, size_t);
    int (*request_set_body)(ringload_request *, const void *, size_t); /* Content-Length follows */
    ringload_str (*request_header)(const ringload_request *, const char *, size_t);
    uint64_t (*request_seq)(const ringload_request *);   /* 0, 1, 2 ... per shard, skipped ones too */
    unsigned (*request_conn)(const ringload_request *);  /* connection slot, unique in its shard;
                                                            see request_conn_gen */

    int (*response_status)(const ringload_response *);
    ringload_str (*response_header)(const ringload_response *, const char *, size_t);
    ringload_str (*response_body)(const ringload_response *); /* decoded; see want_bodies */

    void (*verdict_set)(ringload_verdict *, int ok, const char *label); /* label: NUL-terminated,
                                                                        may be NULL */

    /* Appended after the first thirteen: */

    /* At init only: show response bodies to on_response, up to max_bytes each (the largest
     * any plugin asks for wins). Without it, no body is kept for plugins. */
    void (*want_bodies)(size_t max_bytes);
    ringload_str (*request_method)(const ringload_request *);
    ringload_str (*request_target)(const ringload_request *);
    ringload_str (*request_body)(const ringload_request *);
    ringload_str (*request_name)(const ringload_request *);  /* the line's name, else "METHOD /path" */
    uint32_t (*request_line)(const ringload_request *);      /* request-file line; 0: not from a file */
    unsigned (*request_shard)(const ringload_request *);
    const ringload_request *(*response_request)(const ringload_response *); /* read-only view */
    int64_t (*response_latency_ns)(const ringload_response *); /* completion - intended send */
    int64_t (*response_ttfb_ns)(const ringload_response *);    /* first byte - actual send; -1: none */
    int (*verdict_ok)(const ringload_verdict *);               /* the verdict so far */
    /* In ringload_plugin_finish only: a number for the report, under plugins[i].report. */
    void (*report_number)(const char *key, size_t key_len, double value);
    /* Changes whenever the connection slot gets a new socket (a reconnect after a close, an
     * error or a timeout): per-connection state keyed by request_conn is stale when this
     * differs from the value it was kept with. */
    uint32_t (*request_conn_gen)(const ringload_request *);
    /* From inside a hook: the hook failed for this request (an exception in a Python hook,
     * say). on_request: the request is not sent; on_response: it counts as failed. Either
     * way it is a `plugin` error with `message` (NUL-terminated, copied); the run goes on,
     * or stops with RunConfig::plugin_errors_fatal (--plugin-errors fatal). */
    void (*hook_error)(const char *message);
    /* From inside ringload_plugin_init: why it is about to return NULL (NUL-terminated,
     * copied): ringload's error says it instead of "refused to run". */
    void (*init_error)(const char *message);
    /* The request's URL: its origin "scheme://host:port" (the port always given) followed by
     * its target. Valid until the hook returns or this thread's next request_url call. */
    ringload_str (*request_url)(const ringload_request *);
    /* The request's header fields in order, index 0, 1, ...: 1 with *name and *value set (valid
     * during the hook call), 0 past the last field. The head as it will be sent, with the
     * fields ringload adds (Host, User-Agent, Accept) and the plugins' changes so far. */
    int (*request_header_at)(const ringload_request *, size_t index, ringload_str *name,
                             ringload_str *value);
    /* The response's header fields in order, as request_header_at. */
    int (*response_header_at)(const ringload_response *, size_t index, ringload_str *name,
                              ringload_str *value);
    /* In ringload_on_response only, with --export: what the export writes for this response
     * instead of what was received (a redacted token, a decoded payload ...); the run's
     * statistics and the verdict are not changed. head: a whole HTTP/1.x response head,
     * status line to the empty line ("HTTP/1.1 200 OK\r\nA: b\r\n\r\n"); its status code
     * becomes the exported status. body: the exported body (not cut by --export-max-body).
     * 0 on success; -1 without an export, outside on_response, or a head that does not parse.
     * The last call of a hook wins. response_export_head(res, NULL, 0) only asks: 0 when the
     * response has an export to change, -1 when not. */
    int (*response_export_head)(const ringload_response *, const char *head, size_t head_len);
    int (*response_export_body)(const ringload_response *, const void *body, size_t body_len);
    /* The protocol the request goes over: "HTTP/2" (a stream of an h2 or h2c connection)
     * or "HTTP/1.1" (one request per connection at a time, or --pipeline). Static. */
    ringload_str (*request_protocol)(const ringload_request *);
} ringload_api;

/* A plugin linked into the program that runs the engine instead of loaded from a file
 * (RunConfig::plugins with `entry` set): its functions, as the exported ones. */
typedef struct ringload_plugin_entry {
    uint32_t (*abi)(void);
    void *(*init)(const ringload_api *api, const char *args);
    void *(*shard_init)(void *plugin, unsigned shard);
    int (*on_request)(void *shard_state, ringload_request *req);
    void (*on_response)(void *shard_state, const ringload_response *res, ringload_verdict *verdict);
    void (*on_message)(void *shard_state, const ringload_response *res, int kind, ringload_str name,
                       ringload_str data);
    void (*finish)(void *plugin);
    void (*free)(void *plugin);
} ringload_plugin_entry;

/* Exported by the plugin (mark them RINGLOAD_PLUGIN_EXPORT when building with hidden
 * visibility). ringload_plugin_abi and ringload_plugin_init are required, and at least one
 * of the three hooks; the rest are optional. */
uint32_t ringload_plugin_abi(void);
void *ringload_plugin_init(const ringload_api *api, const char *args); /* args: "" when none */
void *ringload_plugin_shard_init(void *plugin, unsigned shard);         /* optional */
int ringload_on_request(void *shard_state, ringload_request *req);      /* 0 send, 1 skip */
void ringload_on_response(void *shard_state, const ringload_response *res,
                          ringload_verdict *verdict);
void ringload_on_message(void *shard_state, const ringload_response *res, int kind,
                         ringload_str name, ringload_str data);
void ringload_plugin_finish(void *plugin);                              /* optional */
void ringload_plugin_free(void *plugin);                                /* optional */

#ifdef __cplusplus
}
#endif

#endif /* RINGLOAD_PLUGIN_H */
