/* What the example plugins share: a list of their per-shard states, so that
 * ringload_plugin_finish can add up the shards' counts.
 *
 * ringload calls ringload_plugin_shard_init on each shard's own thread, possibly at the same
 * time: a state joins the list with one atomic exchange. The hooks then touch only their own
 * shard's state. finish runs after every shard stopped (plugin.h), so it may walk the list
 * without synchronisation, and drains it: a next run's shard_init builds a new one.
 * C11, header-only. */
#ifndef RINGLOAD_EXAMPLE_SHARD_LIST_H
#define RINGLOAD_EXAMPLE_SHARD_LIST_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct shard_link {
    struct shard_link *next;
} shard_link;

typedef struct {
    _Atomic(shard_link *) head;
} shard_list;

/* Adds `link` (embedded in a shard state); safe from several threads at once. */
static inline void shard_list_push(shard_list *list, shard_link *link)
{
    shard_link *head = atomic_load_explicit(&list->head, memory_order_relaxed);
    do {
        link->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&list->head, &head, link, memory_order_release,
                                                    memory_order_relaxed));
}

/* Takes every state out of the list (finish only): the caller walks ->next and frees them. */
static inline shard_link *shard_list_drain(shard_list *list)
{
    return atomic_exchange_explicit(&list->head, NULL, memory_order_acquire);
}

/* The struct holding `link` as its member `member`. */
#define SHARD_OF(type, link, member) ((type *)(void *)((char *)(link) - offsetof(type, member)))

#endif /* RINGLOAD_EXAMPLE_SHARD_LIST_H */
