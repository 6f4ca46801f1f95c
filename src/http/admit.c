/*
 * admit.c: connection admission, so that overload is answered rather than
 * silent (docs/HTTP.md, "Limits").
 *
 * libmicrohttpd's own limits close a connection at accept, which a client sees
 * as a reset or a hang. civgridd instead runs libmicrohttpd with a little
 * headroom above http.max_connections and http.max_per_ip, counts every
 * connection here when it opens, and marks those that arrive over the limits:
 * their first request is answered 503 "overloaded" (the server is full) or 429
 * "too_many_connections" (this address holds too many), with Retry-After and
 * Connection: close. Past the headroom libmicrohttpd still closes at accept,
 * as the last line of defence.
 *
 * The per-address counts live in a small chained hash table under one mutex:
 * connections open and close far less often than requests are served.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "http/http_int.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#define ADDR_MAX 16 /* bytes of an IPv6 address */

struct addr_entry {
    unsigned char addr[ADDR_MAX];
    int len;
    int count; /* connections open from this address */
    struct addr_entry *next;
};

/* What a connection carries (its socket context) from open to close. */
struct cg_http__conn {
    struct addr_entry *entry; /* NULL: address unknown or not counted */
    int verdict;              /* 0, or why its requests are refused (decided at open) */
};

struct cg_http__admit {
    int max_total, max_per_ip;
    unsigned char exempt[ADDR_MAX]; /* the trusted proxy: not limited per address */
    int exempt_len;
    _Atomic int total;

    pthread_mutex_t lock; /* guards the table */
    struct addr_entry **buckets;
    size_t n_buckets; /* a power of two */
};

/* The address bytes of sa (IPv4-mapped IPv6 counts as IPv4); 0 when not IP. */
static int addr_bytes(const struct sockaddr *sa, unsigned char *out)
{
    if (sa && sa->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return 4;
    }
    if (sa && sa->sa_family == AF_INET6) {
        const unsigned char *b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

        if (!memcmp(b, mapped, sizeof(mapped))) {
            memcpy(out, b + 12, 4);
            return 4;
        }
        memcpy(out, b, 16);
        return 16;
    }
    return 0;
}

static size_t addr_hash(const unsigned char *a, int len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (int i = 0; i < len; i++) {
        h = (h ^ a[i]) * 1099511628211ULL;
    }
    return (size_t)(h ^ (h >> 29));
}

struct cg_http__admit *cg_http__admit_new(int max_total, int max_per_ip,
                                          const struct sockaddr *exempt)
{
    struct cg_http__admit *a = cg_calloc(1, sizeof(*a));

    a->max_total = max_total;
    a->max_per_ip = max_per_ip;
    a->exempt_len = exempt ? addr_bytes(exempt, a->exempt) : 0;
    a->n_buckets = 64;
    while (a->n_buckets < (size_t)max_total && a->n_buckets < 65536) {
        a->n_buckets <<= 1;
    }
    a->buckets = cg_calloc(a->n_buckets, sizeof(*a->buckets));
    pthread_mutex_init(&a->lock, NULL);
    return a;
}

void cg_http__admit_free(struct cg_http__admit *a)
{
    if (!a) {
        return;
    }
    for (size_t i = 0; i < a->n_buckets; i++) {
        for (struct addr_entry *e = a->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(a->buckets);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

struct cg_http__conn *cg_http__admit_open(struct cg_http__admit *a, const struct sockaddr *sa)
{
    struct cg_http__conn *c = cg_calloc(1, sizeof(*c));
    unsigned char key[ADDR_MAX];
    int len = addr_bytes(sa, key);
    int per_ip = 0;

    if (atomic_fetch_add(&a->total, 1) + 1 > a->max_total) {
        c->verdict = CG_EBUSY;
    }
    if (len && !(len == a->exempt_len && !memcmp(key, a->exempt, (size_t)len))) {
        size_t b = addr_hash(key, len) & (a->n_buckets - 1);
        struct addr_entry *e;

        pthread_mutex_lock(&a->lock);
        for (e = a->buckets[b]; e && !(e->len == len && !memcmp(e->addr, key, (size_t)len));
             e = e->next) {
        }
        if (!e) {
            e = cg_calloc(1, sizeof(*e));
            memcpy(e->addr, key, (size_t)len);
            e->len = len;
            e->next = a->buckets[b];
            a->buckets[b] = e;
        }
        per_ip = ++e->count;
        c->entry = e;
        pthread_mutex_unlock(&a->lock);
    }
    if (!c->verdict && per_ip > a->max_per_ip) {
        c->verdict = CG_ERATELIMIT;
    }
    return c;
}

void cg_http__admit_close(struct cg_http__admit *a, struct cg_http__conn *c)
{
    if (!c) {
        return;
    }
    atomic_fetch_sub(&a->total, 1);
    if (c->entry) {
        size_t b = addr_hash(c->entry->addr, c->entry->len) & (a->n_buckets - 1);

        pthread_mutex_lock(&a->lock);
        if (--c->entry->count == 0) {
            struct addr_entry **p = &a->buckets[b];

            while (*p != c->entry) {
                p = &(*p)->next;
            }
            *p = c->entry->next;
            free(c->entry);
        }
        pthread_mutex_unlock(&a->lock);
    }
    free(c);
}

int cg_http__admit_verdict(const struct cg_http__conn *c, struct cg_error *err)
{
    if (!c || !c->verdict) {
        return 0;
    }
    if (c->verdict == CG_ERATELIMIT) {
        return cg_error_set(err, CG_ETOOMANYCONN,
                            "this address holds too many open connections: close some (or reuse "
                            "them) and try again");
    }
    return cg_error_set(err, CG_EOVERLOADED,
                        "the server has all the connections it can take; try again in a moment");
}

int cg_http__admit_open_count(struct cg_http__admit *a)
{
    return atomic_load(&a->total);
}
