/*
 * metrics.c — meters, instruments, per-attribute-set aggregation, the
 * periodic exporting reader and the SDK's self-metrics.
 *
 * Invariants:
 *  - An instrument owns a fixed open-addressing table sized at creation
 *    (2 x cardinality limit, power of two) of series pointers: lookups are
 *    lock-free (acquire loads), inserts take the instrument's mutex, the
 *    table never grows.
 *  - Nothing a recording thread can reach is ever freed before the process
 *    exits: not the reader state (static), not instruments (one global list;
 *    shutdown only marks them inactive) and not series (kept in their
 *    instrument's table across shutdown/init; re-creating the instrument
 *    after the next init zeroes their values and hides them until recorded
 *    again). A measurement racing ocelot_shutdown therefore touches live
 *    memory: it lands in the old run, in the next run, or nowhere. Memory
 *    stays bounded by instruments x cardinality limit.
 *  - At most cardinality_limit - 1 attribute sets get their own series;
 *    later ones fold into the overflow series (otel.metric.overflow=true),
 *    counted in ocelot_stats_t.metric_overflows. A set that repeats a key
 *    is its deduplicated set (last value wins), reached through an alias
 *    entry (at most cardinality_limit - 1 of them); a set with an invalid
 *    attribute is ignored.
 *  - The attribute-set hash is order-independent (sum of per-attribute
 *    hashes), so {a,b} and {b,a} are one series; equality is checked in
 *    full after a hash match.
 *  - Values are doubles updated with atomic CAS; delta temporality reads
 *    and resets with atomic exchange at collection (a measurement racing
 *    the collection lands in this or the next interval, never lost).
 *  - Recording never blocks and allocates only when a new series appears.
 *
 * Workload: counter/histogram updates on hot paths (10^7/s), a handful of
 * instruments with up to thousands of series, collection every 60 s.
 */
#include "records.h"

#include <errno.h>
#include <link.h>
#include <math.h>
#include <signal.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define DEFAULT_CARD 2000
#define MAX_BOUNDS 64

static const double DEFAULT_BOUNDS[] = {0,   5,   10,   25,   50,   75,   100,  250,
                                        500, 750, 1000, 2500, 5000, 7500, 10000};

typedef struct series {
    struct ocelot_instrument *in; /* owner (bound handles are series) */
    uint64_t hash;                /* attribute-set hash */
    osdk_attrs_t attrs;           /* copied attributes */
    osdk_arena_t arena;           /* their bytes */
    _Atomic uint64_t value;       /* sum / last value (double bits) */
    _Atomic uint64_t min, max;    /* histogram min/max (double bits) */
    _Atomic uint64_t *buckets;    /* histogram bucket counts (nb + 1) */
    _Atomic int touched;          /* bit 0: recorded since the last delta collection;
                                   * bit 1: used in this run (created, bound or recorded
                                   * since the instrument was (re)activated) */
    _Atomic double last_obs;      /* observable counters under delta: last cumulative value */
    _Atomic uint64_t start_ns;    /* start of the current delta window (collector, revive) */
    struct series *next_all;      /* list of all series (collection order) */
    struct series *canon;         /* alias entry of a set that repeats a key: the series
                                   * of its deduplicated form (NULL for real series) */
} series_t;

struct ocelot_instrument {
    struct ocelot_instrument *next; /* global list; set before publication, never changed */
    osdk_scope_t *meter;            /* scope */
    ocelot_instrument_kind_t kind;  /* what it is */
    char *name, *unit, *desc;       /* owned */
    double *bounds;                 /* histogram boundaries */
    size_t nb;                      /* count of bounds */
    uint32_t card;                  /* cardinality limit */
    ocelot_observe_fn cb;           /* observable callback */
    void *cb_ud;                    /* its argument */
    _Atomic(series_t *) *table;     /* open addressing; NULL = empty */
    size_t mask;                    /* table size - 1 */
    uint32_t n_series;              /* series created (guarded by mu) */
    uint32_t n_alias;               /* alias entries (guarded by mu; < card, so the
                                     * table of 2 x card always keeps an empty slot) */
    series_t *all;                  /* all series (guarded by mu) */
    series_t *_Atomic overflow;     /* overflow series or NULL */
    pthread_mutex_t mu;             /* inserts */
    _Atomic int active;             /* 1 while it belongs to the running SDK */
};

/* Per-thread memo of the last attribute set recorded per instrument slot
 * and its series. When every key and string value of that set lies in the
 * read-only segments of the main program (string literals, which cannot
 * change), the next call is a hit if it passes the same pointers and the
 * same scalar values: no strlen, no hash, no memcmp. Otherwise ("slow"
 * entries) the series' stored attributes are compared in full. */
#define MC_SLOTS 16
#define MC_ATTRS 8
typedef struct mc_attr {
    const char *key; /* key pointer (immutable bytes) */
    uint32_t type;   /* ocelot_attr_type_t */
    int b;           /* BOOL: the int passed */
    uint64_t v;      /* STRING: the pointer; INT / DOUBLE: the 8 bytes */
    size_t len;      /* STRING: the explicit length field (0 = NUL-terminated) */
} mc_attr_t;
typedef struct mcache {
    struct ocelot_instrument *in; /* instrument */
    struct series *s;             /* its series last used on this thread */
    uint32_t n;                   /* attributes in the set */
    uint32_t fast;                /* 1: a[] holds immutable pointers, compare them */
    mc_attr_t a[MC_ATTRS];        /* the set as passed (fast entries) */
} mcache_t;
/* MC_SLOTS entries, allocated on a thread's first lookup (freed at thread
 * exit); only the pointer is in static TLS so a dlopen'ed libocelot fits. */
static OSDK_TLS mcache_t *tl_mc;

struct ocelot_observer {
    ocelot_instrument_t *inst; /* instrument being observed */
};

typedef struct mstate {
    ocelot_instrument_t *_Atomic insts; /* every instrument ever created: pushed under
                                         * lock, never unlinked, read without lock */
    _Atomic int running;        /* between metrics start and stop */
    int started;                /* reader thread running (guarded by mu) */
    uint32_t timeout_ms;        /* OTEL_METRIC_EXPORT_TIMEOUT of the reader's run (guarded by mu) */
    uint32_t interval_ms;       /* OTEL_METRIC_EXPORT_INTERVAL of the reader's run (guarded by mu) */
    _Atomic int delta;          /* delta temporality preferred in this run */
    int reader_left;            /* the reader has left its loop for good (guarded by mu) */
    int zombie;                 /* the reader missed the shutdown deadline and was
                                 * detached; it frees exp and body when it exits, and
                                 * no new reader starts before that (guarded by mu) */
    _Atomic uint64_t window;    /* start time given to new series (last collection) */
    pthread_mutex_t lock;       /* serialises instrument create / revive with start; never
                                 * held while user code (callbacks, exporters) runs */
    pthread_mutex_t mu;         /* reader thread wake-up */
    pthread_cond_t cv;          /* wakes the reader */
    pthread_cond_t done_cv;     /* collection finished */
    uint64_t req, done;         /* collect requests / completions */
    int stop;                   /* shutdown */
    pthread_t thread;           /* periodic reader */
    osdk_exporter_t *exp;       /* metrics exporter */
    pbw_buf_t body;             /* encode buffer */
    uint64_t last_collect_ns;   /* previous collection time (delta start) */
    _Atomic uint64_t start_ns;  /* SDK start (cumulative start) */
    _Atomic uint64_t abort_at;  /* export abort deadline */
    uint64_t deadline;          /* current flush/stop deadline */
} mstate_t;

/* The reader state is static: never freed, its mutexes never destroyed
 * (the condition variables are initialised once, and again in a fork
 * child). */
static mstate_t g_ms = {.lock = PTHREAD_MUTEX_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t g_ms_once = PTHREAD_ONCE_INIT;

/* ---- hashing ---- */

static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}

static inline uint64_t hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const uint8_t *b = p, *end = b + n;
    uint64_t h = seed ^ (n * 0x9E3779B97F4A7C15ull);
    uint64_t v;
    if (n >= 8) {
        while (end - b > 8) {
            memcpy(&v, b, 8);
            h = (h ^ v) * 0xff51afd7ed558ccdull;
            h ^= h >> 29;
            b += 8;
        }
        memcpy(&v, end - 8, 8); /* last 8 bytes, overlapping: no variable-length copy */
    } else if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, b, 4);
        memcpy(&hi, end - 4, 4);
        v = (uint64_t)lo | (uint64_t)hi << 32;
    } else if (n) {
        v = (uint64_t)b[0] | (uint64_t)b[n / 2] << 8 | (uint64_t)b[n - 1] << 16;
    } else {
        v = 0;
    }
    h = (h ^ v) * 0xff51afd7ed558ccdull;
    return mix(h);
}

/* A public attribute with its lengths measured once per call. */
typedef struct pattr {
    const ocelot_attr_t *a; /* the attribute */
    size_t klen;            /* strlen(key) */
    size_t vlen;            /* string value length */
} pattr_t;

static inline size_t str_len(const ocelot_attr_t *a)
{
    return a->v.s.len ? a->v.s.len : (a->v.s.p ? strlen(a->v.s.p) : 0);
}

static uint64_t attr_hash(const pattr_t *pa)
{
    const ocelot_attr_t *a = pa->a;
    uint64_t h = hash_bytes(a->key, pa->klen, (uint64_t)a->type);
    switch (a->type) {
    case OCELOT_ATTR_STRING:
        return h ^ hash_bytes(a->v.s.p ? a->v.s.p : "", pa->vlen, 7);
    case OCELOT_ATTR_BOOL:
        return h ^ mix((uint64_t)(a->v.b != 0) + 1);
    case OCELOT_ATTR_INT:
        return h ^ mix((uint64_t)a->v.i + 3);
    case OCELOT_ATTR_DOUBLE: {
        uint64_t x;
        memcpy(&x, &a->v.d, 8);
        return h ^ mix(x + 5);
    }
    default: /* arrays: hashed by element count only; equality decides */
        return h ^ mix(a->v.arr.n + 11);
    }
}

static uint64_t set_hash(const pattr_t *pa, size_t n)
{
    uint64_t h = 0x51afd7ed558ccd1dull;
    for (size_t i = 0; i < n; i++)
        h += attr_hash(&pa[i]); /* order-independent */
    return h;
}

/* Does stored attribute d equal public attribute pa? */
static inline int attr_eq(const osdk_attr_t *d, const osdk_arena_t *ar, const pattr_t *pa)
{
    const ocelot_attr_t *a = pa->a;
    if (d->type != (uint32_t)a->type || d->key_len != pa->klen ||
        memcmp(ar->p + d->key_off, a->key, pa->klen))
        return 0;
    switch (a->type) {
    case OCELOT_ATTR_STRING:
        return d->n == pa->vlen && (pa->vlen == 0 || !memcmp(ar->p + d->u.off, a->v.s.p, pa->vlen));
    case OCELOT_ATTR_BOOL:
        return d->u.i == (a->v.b != 0);
    case OCELOT_ATTR_INT:
        return d->u.i == a->v.i;
    case OCELOT_ATTR_DOUBLE:
        return memcmp(&d->u.d, &a->v.d, 8) == 0;
    case OCELOT_ATTR_INT_ARRAY:
    case OCELOT_ATTR_DOUBLE_ARRAY:
        return d->n == a->v.arr.n && (!d->n || !memcmp(ar->p + d->u.off, a->v.arr.p, 8 * d->n));
    default:
        return 0; /* other arrays: never equal, each gets the overflow eventually */
    }
}

static int set_eq(const series_t *s, const pattr_t *pa, size_t n)
{
    if (s->attrs.n != n) return 0;
    /* same order first (the common call-site case), then any order */
    size_t i;
    for (i = 0; i < n; i++)
        if (!attr_eq(&s->attrs.v[i], &s->arena, &pa[i])) break;
    if (i == n) return 1;
    for (i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < n; j++)
            if (attr_eq(&s->attrs.v[j], &s->arena, &pa[i])) break;
        if (j == n) return 0;
    }
    return 1;
}

/* ---- series ---- */

/* A new series of the set a[n]; alias: an alias entry (stored as given,
 * repeated keys included, no values: never exported). */
static series_t *series_new(ocelot_instrument_t *in, uint64_t h, const ocelot_attr_t *a, size_t n,
                            int alias)
{
    series_t *s = osdk_calloc(sizeof *s);
    if (!s) return NULL;
    osdk_attrs_init(&s->attrs);
    osdk_arena_init(&s->arena);
    s->in = in;
    s->hash = h;
    for (size_t i = 0; i < n; i++) {
        if (osdk_attrs_set(&s->attrs, &s->arena, &a[i], 128, UINT32_MAX, !alias) == OCELOT_ENOMEM)
            goto fail;
    }
    if (in->kind == OCELOT_HISTOGRAM && !alias) {
        s->buckets = osdk_calloc((in->nb + 1) * sizeof *s->buckets);
        if (!s->buckets) goto fail;
        double inf = INFINITY, ninf = -INFINITY;
        uint64_t x;
        memcpy(&x, &inf, 8);
        atomic_init(&s->min, x);
        memcpy(&x, &ninf, 8);
        atomic_init(&s->max, x);
    }
    s->start_ns = atomic_load_explicit(&g_ms.window, memory_order_relaxed);
    atomic_init(&s->touched, 2);
    return s;
fail:
    osdk_attrs_dispose(&s->attrs);
    osdk_arena_dispose(&s->arena);
    osdk_free(s);
    return NULL;
}

static void series_free(series_t *s)
{
    osdk_attrs_dispose(&s->attrs);
    osdk_arena_dispose(&s->arena);
    osdk_free((void *)s->buckets);
    osdk_free(s);
}

static series_t *overflow_series(ocelot_instrument_t *in)
{
    series_t *o = atomic_load_explicit(&in->overflow, memory_order_acquire);
    if (o) return o;
    pthread_mutex_lock(&in->mu);
    o = atomic_load_explicit(&in->overflow, memory_order_relaxed);
    if (!o) {
        ocelot_attr_t ov = OCELOT_BOOL("otel.metric.overflow", 1);
        o = series_new(in, 0, &ov, 1, 0);
        if (o) {
            o->next_all = in->all;
            in->all = o;
            atomic_store_explicit(&in->overflow, o, memory_order_release);
        }
    }
    pthread_mutex_unlock(&in->mu);
    return o;
}

#define MAX_SET_ATTRS 64

/* ---- immutable memory: the main program's read-only segments ---- */

#define RO_MAX 8
static uintptr_t g_ro_lo[RO_MAX], g_ro_hi[RO_MAX]; /* [lo, hi) ranges (set once) */
static int g_ro_n;                                  /* ranges used */
static pthread_once_t g_mc_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_mc_key; /* frees a thread's cache at exit */
static int g_mc_key_ok;        /* key created */

static int ro_cb(struct dl_phdr_info *info, size_t size, void *ud)
{
    (void)size;
    (void)ud;
    /* the first object is the main program: it is never unloaded, so its
     * read-only bytes never change while the process runs */
    for (int i = 0; i < info->dlpi_phnum && g_ro_n < RO_MAX; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W)) continue;
        g_ro_lo[g_ro_n] = (uintptr_t)info->dlpi_addr + ph->p_vaddr;
        g_ro_hi[g_ro_n] = g_ro_lo[g_ro_n] + ph->p_memsz;
        g_ro_n++;
    }
    return 1; /* stop after the first object */
}

static void mc_free(void *p)
{
    osdk_free(p);
}

static void mc_once(void)
{
    dl_iterate_phdr(ro_cb, NULL);
    g_mc_key_ok = pthread_key_create(&g_mc_key, mc_free) == 0;
}

/* Are the n bytes at p in the main program's read-only segments? */
static int immutable(const void *p, size_t n)
{
    uintptr_t x = (uintptr_t)p;
    for (int i = 0; i < g_ro_n; i++)
        if (x >= g_ro_lo[i] && x < g_ro_hi[i] && n <= g_ro_hi[i] - x) return 1;
    return 0;
}

static inline size_t mc_slot(const ocelot_instrument_t *in)
{
    return (size_t)((((uintptr_t)in >> 4) * 0x9E3779B97F4A7C15ull) >> 60) & (MC_SLOTS - 1);
}

/* The memo form of one public attribute; 0 when it cannot be memoised. */
static int mc_form(const ocelot_attr_t *a, mc_attr_t *c)
{
    c->key = a->key;
    c->type = (uint32_t)a->type;
    c->b = 0;
    c->v = 0;
    c->len = 0;
    switch (a->type) {
    case OCELOT_ATTR_STRING:
        c->v = (uintptr_t)a->v.s.p;
        c->len = a->v.s.len;
        return 1;
    case OCELOT_ATTR_BOOL:
        c->b = a->v.b;
        return 1;
    case OCELOT_ATTR_INT:
        c->v = (uint64_t)a->v.i;
        return 1;
    case OCELOT_ATTR_DOUBLE:
        memcpy(&c->v, &a->v.d, 8);
        return 1;
    default:
        return 0;
    }
}

/* Same pointers and scalar bits as the memoised (immutable) set? Equal
 * pointers to immutable bytes mean equal attributes, so this implies the
 * sets are equal (the converse need not hold: a miss just goes slow). */
static inline int mc_hit(const mcache_t *mc, const ocelot_attr_t *a, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const mc_attr_t *c = &mc->a[k];
        if (a[k].key != c->key || (uint32_t)a[k].type != c->type) return 0;
        if (c->type == OCELOT_ATTR_STRING) {
            if ((uintptr_t)a[k].v.s.p != c->v || a[k].v.s.len != c->len) return 0;
        } else if (c->type == OCELOT_ATTR_BOOL) {
            if (a[k].v.b != c->b) return 0;
        } else { /* INT, DOUBLE: the union's first 8 bytes */
            uint64_t x;
            memcpy(&x, &a[k].v, 8);
            if (x != c->v) return 0;
        }
    }
    return 1;
}

/* Memoises (a, n) -> s in mc. */
static void mc_fill(mcache_t *mc, ocelot_instrument_t *in, series_t *s, const pattr_t *pa,
                    size_t n)
{
    int fast = n <= MC_ATTRS;
    for (size_t k = 0; k < n && fast; k++) {
        const ocelot_attr_t *a = pa[k].a;
        mc_attr_t *c = &mc->a[k];
        if (!immutable(a->key, pa[k].klen + 1) || !mc_form(a, c)) fast = 0;
        else if (a->type == OCELOT_ATTR_STRING)
            fast = a->v.s.p && immutable(a->v.s.p, pa[k].vlen + (a->v.s.len ? 0 : 1));
    }
    mc->in = in;
    mc->s = s;
    mc->n = (uint32_t)n;
    mc->fast = (uint32_t)fast;
}

static mcache_t *mc_get(void)
{
    mcache_t *mc = tl_mc;
    if (OSDK_LIKELY(mc != NULL)) return mc;
    pthread_once(&g_mc_once, mc_once);
    if (!g_mc_key_ok) return NULL;
    mc = osdk_calloc(MC_SLOTS * sizeof *mc);
    if (mc && pthread_setspecific(g_mc_key, mc) != 0) {
        osdk_free(mc);
        mc = NULL;
    }
    tl_mc = mc;
    return mc;
}

static series_t *lookup_slow(ocelot_instrument_t *in, const ocelot_attr_t *a, size_t n,
                             mcache_t *mc);

/* Can the attribute be stored (osdk_attrs_set accepts it)? */
static inline int valid_attr(const ocelot_attr_t *a)
{
    if (a->type == OCELOT_ATTR_STRING || a->type == OCELOT_ATTR_BOOL ||
        a->type == OCELOT_ATTR_INT || a->type == OCELOT_ATTR_DOUBLE)
        return 1;
    if (a->type < OCELOT_ATTR_STRING_ARRAY || a->type > OCELOT_ATTR_DOUBLE_ARRAY) return 0;
    return a->v.arr.n <= 65536 && (!a->v.arr.n || a->v.arr.p);
}

/* Under in->mu: the table entry of (pa, n) with hash h, or NULL with *slot
 * set to the free slot where it would go. */
static series_t *find_locked(ocelot_instrument_t *in, uint64_t h, const pattr_t *pa, size_t n,
                             size_t *slot)
{
    size_t i = (size_t)h & in->mask;
    for (size_t probes = 0; probes <= in->mask; probes++, i = (i + 1) & in->mask) {
        series_t *s = atomic_load_explicit(&in->table[i], memory_order_relaxed);
        if (!s) break;
        if (s->hash == h && set_eq(s, pa, n)) return s;
    }
    *slot = i;
    return NULL;
}

/* Does a key appear twice in the set? (insert path only) */
static int has_dup_keys(const pattr_t *pa, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (pa[i].klen == pa[j].klen && !memcmp(pa[i].a->key, pa[j].a->key, pa[i].klen))
                return 1;
    return 0;
}

/* Under in->mu, for a set that repeats a key: finds or creates the series
 * of its deduplicated form (a key keeps its first position and its last
 * value, as osdk_attrs_set stores it) and adds an alias entry for the set
 * as given, so the next call finds it without the lock. NULL on ENOMEM,
 * or with *full set when the deduplicated set is new and the instrument
 * is at its cardinality limit. */
static series_t *insert_dup(ocelot_instrument_t *in, uint64_t h, const ocelot_attr_t *a,
                            const pattr_t *pa, size_t n, int *full)
{
    ocelot_attr_t ca[MAX_SET_ATTRS];
    pattr_t cpa[MAX_SET_ATTRS];
    size_t cn = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < cn; j++)
            if (cpa[j].klen == pa[i].klen && !memcmp(ca[j].key, pa[i].a->key, pa[i].klen)) break;
        ca[j] = *pa[i].a;
        cpa[j] = pa[i];
        cpa[j].a = &ca[j];
        if (j == cn) cn++;
    }
    uint64_t ch = set_hash(cpa, cn);
    size_t slot = 0;
    series_t *canon = find_locked(in, ch, cpa, cn, &slot);
    if (!canon) {
        if (in->n_series + 1 >= in->card) {
            *full = 1;
            return NULL;
        }
        canon = series_new(in, ch, ca, cn, 0);
        if (!canon) return NULL;
        canon->next_all = in->all;
        in->all = canon;
        in->n_series++;
        atomic_store_explicit(&in->table[slot], canon, memory_order_release);
    }
    /* aliases have their own limit: with at most card - 1 of each, the
     * table (2 x card) keeps an empty slot; past it, such calls lock */
    if (in->n_alias + 1 < in->card && !find_locked(in, h, pa, n, &slot)) {
        series_t *al = series_new(in, h, a, n, 1);
        if (al) {
            al->canon = canon;
            in->n_alias++;
            atomic_store_explicit(&in->table[slot], al, memory_order_release);
        }
    }
    return canon;
}

/* Finds or creates the series of an attribute set. NULL on ENOMEM or for
 * more than MAX_SET_ATTRS attributes. The memo hit stays inline. */
static inline series_t *lookup(ocelot_instrument_t *in, const ocelot_attr_t *a, size_t n)
{
    mcache_t *mc = tl_mc;
    if (OSDK_LIKELY(mc != NULL)) {
        mc += mc_slot(in);
        if (OSDK_LIKELY(mc->in == in && mc->fast && mc->n == n && mc_hit(mc, a, n))) return mc->s;
    }
    return lookup_slow(in, a, n, mc);
}

static __attribute__((noinline)) series_t *lookup_slow(ocelot_instrument_t *in,
                                                       const ocelot_attr_t *a, size_t n,
                                                       mcache_t *mc)
{
    if (!mc) {
        mc = mc_get(); /* first lookup on this thread */
        if (mc) mc += mc_slot(in);
    }
    pattr_t pa[MAX_SET_ATTRS];
    if (OSDK_UNLIKELY(n > MAX_SET_ATTRS)) return NULL;
    pa[0].a = NULL; /* (silences a false maybe-uninitialized for n == 0) */
    for (size_t k = 0; k < n; k++) {
        /* an invalid attribute could never be stored, so the set would
         * never compare equal to its series: the measurement is ignored */
        if (OSDK_UNLIKELY(!a[k].key || !valid_attr(&a[k]))) return NULL;
        pa[k].a = &a[k];
        pa[k].klen = strlen(a[k].key);
        pa[k].vlen = a[k].type == OCELOT_ATTR_STRING ? str_len(&a[k]) : 0;
    }
    if (mc && mc->in == in && !mc->fast && set_eq(mc->s, pa, n)) return mc->s;
    uint64_t h = set_hash(pa, n);
    size_t i = (size_t)h & in->mask;
    for (size_t probes = 0; probes <= in->mask; probes++, i = (i + 1) & in->mask) {
        series_t *s = atomic_load_explicit(&in->table[i], memory_order_acquire);
        if (!s) break;
        if (s->hash == h && set_eq(s, pa, n)) {
            if (s->canon) s = s->canon;
            if (mc) mc_fill(mc, in, s, pa, n);
            return s;
        }
    }
    /* slow path: insert under the lock */
    for (size_t k = 0; k < n; k++)
        if (!pa[k].klen) return NULL;
    pthread_mutex_lock(&in->mu);
    series_t *found = find_locked(in, h, pa, n, &i);
    if (found && found->canon) found = found->canon;
    if (!found && has_dup_keys(pa, n)) {
        int full = 0;
        found = insert_dup(in, h, a, pa, n, &full);
        pthread_mutex_unlock(&in->mu);
        if (found && mc) mc_fill(mc, in, found, pa, n);
        if (found || !full) return found;
        osdk_count(&osdk_g.metric_overflows, 1);
        return overflow_series(in);
    }
    if (!found && in->n_series + 1 < in->card) {
        found = series_new(in, h, a, n, 0);
        if (found) {
            found->next_all = in->all;
            in->all = found;
            in->n_series++;
            atomic_store_explicit(&in->table[i], found, memory_order_release);
        }
        pthread_mutex_unlock(&in->mu);
        if (found && mc) mc_fill(mc, in, found, pa, n);
        return found;
    }
    pthread_mutex_unlock(&in->mu);
    if (found) return found;
    osdk_count(&osdk_g.metric_overflows, 1);
    return overflow_series(in);
}

static inline void atomic_add_double(_Atomic uint64_t *p, double v)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed), nw;
    do {
        double d;
        memcpy(&d, &old, 8);
        d += v;
        memcpy(&nw, &d, 8);
    } while (!atomic_compare_exchange_weak_explicit(p, &old, nw, memory_order_relaxed,
                                                    memory_order_relaxed));
}

static inline void atomic_min_max(_Atomic uint64_t *p, double v, int want_min)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed), nw;
    memcpy(&nw, &v, 8);
    for (;;) {
        double d;
        memcpy(&d, &old, 8);
        if (want_min ? !(v < d) : !(v > d)) return;
        if (atomic_compare_exchange_weak_explicit(p, &old, nw, memory_order_relaxed,
                                                  memory_order_relaxed))
            return;
    }
}

static inline void set_double(_Atomic uint64_t *p, double v)
{
    uint64_t x;
    memcpy(&x, &v, 8);
    atomic_store_explicit(p, x, memory_order_relaxed);
}

/* Bucket of v (not NaN): buckets are (prev, bound], so the index is the
 * number of bounds below v. Up to 16 bounds a branchless count over all of
 * them beats any search; more use a binary search. */
static inline size_t bucket_of(const ocelot_instrument_t *in, double v)
{
    const double *bd = in->bounds;
    size_t nb = in->nb;
    if (nb <= 16) {
        size_t k = 0, i = 0;
#ifdef __SSE2__
        __m128d vv = _mm_set1_pd(v);
        for (; i + 2 <= nb; i += 2) { /* two bounds per compare */
            int m = _mm_movemask_pd(_mm_cmplt_pd(_mm_loadu_pd(bd + i), vv));
            k += (size_t)((m & 1) + (m >> 1));
        }
#endif
        for (; i < nb; i++)
            k += v > bd[i];
        return k;
    }
    size_t lo = 0, hi = nb; /* first bound >= v */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v > bd[mid]) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void record(ocelot_instrument_t *in, series_t *s, double v)
{
    switch (in->kind) {
    case OCELOT_COUNTER:
        if (!(v >= 0)) return; /* negative or NaN: ignored */
        atomic_add_double(&s->value, v);
        break;
    case OCELOT_UPDOWN_COUNTER:
        if (isnan(v)) return;
        atomic_add_double(&s->value, v);
        break;
    case OCELOT_GAUGE:
        set_double(&s->value, v);
        break;
    case OCELOT_HISTOGRAM: {
        if (isnan(v)) return;
        size_t b = bucket_of(in, v);
        atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed); /* count = sum */
        atomic_add_double(&s->value, v);
        atomic_min_max(&s->min, v, 1);
        atomic_min_max(&s->max, v, 0);
        break;
    }
    default:
        set_double(&s->value, v); /* observable: last observation */
    }
    if (atomic_load_explicit(&s->touched, memory_order_relaxed) != 3)
        atomic_store_explicit(&s->touched, 3, memory_order_relaxed);
}

static inline int live(void)
{
    return atomic_load_explicit(&osdk_g.enabled, memory_order_relaxed);
}

static inline int usable(ocelot_instrument_t *i)
{
    return i && live() && atomic_load_explicit(&i->active, memory_order_relaxed);
}

void ocelot_counter_add(ocelot_instrument_t *i, double v, const ocelot_attr_t *a, size_t n)
{
    if (OSDK_UNLIKELY(!usable(i)) || (n && !a)) return;
    if (i->kind != OCELOT_COUNTER && i->kind != OCELOT_UPDOWN_COUNTER) return;
    series_t *s = lookup(i, a, n);
    if (s) record(i, s, v);
}

void ocelot_histogram_record(ocelot_instrument_t *i, double v, const ocelot_attr_t *a, size_t n)
{
    if (OSDK_UNLIKELY(!usable(i)) || (n && !a) || i->kind != OCELOT_HISTOGRAM) return;
    series_t *s = lookup(i, a, n);
    if (s) record(i, s, v);
}

void ocelot_gauge_set(ocelot_instrument_t *i, double v, const ocelot_attr_t *a, size_t n)
{
    if (OSDK_UNLIKELY(!usable(i)) || (n && !a) || i->kind != OCELOT_GAUGE) return;
    series_t *s = lookup(i, a, n);
    if (s) record(i, s, v);
}

ocelot_series_t *ocelot_instrument_bind(ocelot_instrument_t *i, const ocelot_attr_t *a, size_t n)
{
    if (!usable(i) || (n && !a)) return NULL;
    if (i->kind > OCELOT_GAUGE) return NULL;
    series_t *s = lookup(i, a, n);
    if (s) atomic_fetch_or_explicit(&s->touched, 2, memory_order_relaxed); /* exported */
    return (ocelot_series_t *)s;
}

void ocelot_series_add(ocelot_series_t *bs, double v)
{
    series_t *s = (series_t *)bs;
    if (OSDK_UNLIKELY(!s || !usable(s->in))) return;
    if (s->in->kind == OCELOT_COUNTER || s->in->kind == OCELOT_UPDOWN_COUNTER) record(s->in, s, v);
}

void ocelot_series_record(ocelot_series_t *bs, double v)
{
    series_t *s = (series_t *)bs;
    if (OSDK_UNLIKELY(!s || !usable(s->in))) return;
    if (s->in->kind == OCELOT_HISTOGRAM || s->in->kind == OCELOT_GAUGE) record(s->in, s, v);
}

int ocelot_observe(ocelot_observer_t *o, double v, const ocelot_attr_t *a, size_t n)
{
    if (!o || !o->inst || (n && !a)) return OCELOT_EINVAL;
    series_t *s = lookup(o->inst, a, n);
    if (!s) return OCELOT_ENOMEM;
    record(o->inst, s, v);
    return 0;
}

/* ---- meters and instruments ---- */

ocelot_meter_t *ocelot_meter_get(const char *name, const char *version, const char *schema_url)
{
    if (!live()) return NULL;
    return (ocelot_meter_t *)osdk_scope_get(2, name, version, schema_url);
}

static int valid_name(const char *n)
{
    /* API instrument name: ALPHA 0*254 ("_" / "." / "-" / "/" / ALPHA / DIGIT) */
    if (!n || !((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z'))) return 0;
    size_t i = 1;
    for (; n[i]; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == '/'))
            return 0;
    }
    return i <= 255;
}

/* Makes an instrument of an earlier run current again: its series keep
 * their memory (and attribute sets) but restart from zero and are not
 * exported until used. Called under g_ms.lock while the instrument is
 * inactive; a straggler of the old run may still add to a value (atomics),
 * which then counts in this run. */
static void inst_revive(ocelot_instrument_t *in, uint64_t start)
{
    double inf = INFINITY, ninf = -INFINITY;
    uint64_t xi, xn;
    memcpy(&xi, &inf, 8);
    memcpy(&xn, &ninf, 8);
    pthread_mutex_lock(&in->mu);
    for (series_t *s = in->all; s; s = s->next_all) {
        atomic_store_explicit(&s->touched, 0, memory_order_relaxed);
        atomic_store_explicit(&s->value, 0, memory_order_relaxed);
        if (s->buckets) {
            for (size_t i = 0; i <= in->nb; i++)
                atomic_store_explicit(&s->buckets[i], 0, memory_order_relaxed);
            atomic_store_explicit(&s->min, xi, memory_order_relaxed);
            atomic_store_explicit(&s->max, xn, memory_order_relaxed);
        }
        s->last_obs = 0;
        s->start_ns = start;
    }
    pthread_mutex_unlock(&in->mu);
    atomic_store(&in->active, 1);
}

static void inst_free(ocelot_instrument_t *in)
{
    series_t *s = in->all;
    while (s) {
        series_t *nx = s->next_all;
        series_free(s);
        s = nx;
    }
    osdk_free(in->name);
    osdk_free(in->unit);
    osdk_free(in->desc);
    osdk_free(in->bounds);
    osdk_free((void *)in->table);
    pthread_mutex_destroy(&in->mu);
    osdk_free(in);
}

int ocelot_instrument_create(ocelot_meter_t *m, ocelot_instrument_kind_t kind, const char *name,
                             const ocelot_instrument_options_t *o, ocelot_instrument_t **out)
{
    if (out) *out = NULL;
    if (!out) return OCELOT_EINVAL;
    if (!m || !live()) return OCELOT_ESTATE;
    if (kind < OCELOT_COUNTER || kind > OCELOT_OBSERVABLE_GAUGE || !valid_name(name))
        return OCELOT_EINVAL;
    if (kind >= OCELOT_OBSERVABLE_COUNTER && !(o && o->callback)) return OCELOT_EINVAL;
    if (o && o->n_boundaries) {
        if (!o->boundaries || o->n_boundaries > MAX_BOUNDS) return OCELOT_EINVAL;
        for (size_t i = 0; i < o->n_boundaries; i++)
            if (!isfinite(o->boundaries[i]) || (i && !(o->boundaries[i] > o->boundaries[i - 1])))
                return OCELOT_EINVAL;
    }
    mstate_t *ms = &g_ms;
    int rc = OCELOT_ENOMEM;
    ocelot_instrument_t *in;
    pthread_mutex_lock(&ms->lock);
    if (!ms->running) {
        rc = OCELOT_ESTATE; /* raced shutdown */
        goto done;
    }
    for (in = ms->insts; in; in = in->next)
        if (in->meter == (osdk_scope_t *)m && in->kind == kind && !strcasecmp(in->name, name)) {
            if (!atomic_load(&in->active)) inst_revive(in, ms->start_ns);
            *out = in;
            rc = 0;
            goto recheck;
        }
    in = osdk_calloc(sizeof *in);
    if (!in) goto done;
    pthread_mutex_init(&in->mu, NULL);
    in->meter = (osdk_scope_t *)m;
    in->kind = kind;
    in->name = osdk_strdup(name);
    in->unit = osdk_strdup(o && o->unit ? o->unit : "");
    in->desc = osdk_strdup(o && o->description ? o->description : "");
    in->card = o && o->cardinality_limit ? o->cardinality_limit : DEFAULT_CARD;
    if (in->card < 2) in->card = 2;
    in->cb = o ? o->callback : NULL;
    in->cb_ud = o ? o->callback_ud : NULL;
    const double *bs = o && o->n_boundaries ? o->boundaries : DEFAULT_BOUNDS;
    in->nb =
        o && o->n_boundaries ? o->n_boundaries : sizeof DEFAULT_BOUNDS / sizeof DEFAULT_BOUNDS[0];
    in->bounds = osdk_malloc(in->nb * sizeof(double));
    size_t cap = 16;
    while (cap < (size_t)in->card * 2)
        cap *= 2;
    in->table = osdk_calloc(cap * sizeof *in->table);
    in->mask = cap - 1;
    if (!in->name || !in->unit || !in->desc || !in->bounds || !in->table) {
        inst_free(in);
        goto done;
    }
    memcpy(in->bounds, bs, in->nb * sizeof(double));
    in->next = ms->insts;
    ms->insts = in;
    atomic_store(&in->active, 1);
    *out = in;
    rc = 0;
recheck:
    /* stop clears running, then deactivates the list without the lock: if
     * it ran meanwhile, this instrument must not stay active (seq_cst) */
    if (!ms->running) atomic_store(&in->active, 0);
done:
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

/* ---- collection and encoding ---- */

static double load_d(_Atomic uint64_t *p, int reset)
{
    uint64_t x = reset ? atomic_exchange_explicit(p, 0, memory_order_relaxed)
                       : atomic_load_explicit(p, memory_order_relaxed);
    double d;
    memcpy(&d, &x, 8);
    return d;
}

static int is_delta(const ocelot_instrument_t *in)
{
    if (!g_ms.delta) return 0;
    return in->kind == OCELOT_COUNTER || in->kind == OCELOT_HISTOGRAM ||
           in->kind == OCELOT_OBSERVABLE_COUNTER;
}

static void enc_number_dp(pbw_buf_t *b, const series_t *s, uint64_t start, uint64_t now, double v)
{
    size_t st = pbw_msg_begin(b, 1, 1);
    pbw_fixed64(b, 2, start);
    pbw_fixed64(b, 3, now);
    pbw_double(b, 4, v);
    osdk_attrs_encode(b, 7, s->attrs.v, s->attrs.n, &s->arena);
    pbw_msg_end(b, st, 1);
}

static void enc_hist_dp(pbw_buf_t *b, const ocelot_instrument_t *in, series_t *s, uint64_t start,
                        uint64_t now, int reset)
{
    uint64_t counts[MAX_BOUNDS + 1];
    for (size_t i = 0; i <= in->nb; i++)
        counts[i] = reset ? atomic_exchange_explicit(&s->buckets[i], 0, memory_order_relaxed)
                          : atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
    uint64_t count = 0;
    for (size_t i = 0; i <= in->nb; i++)
        count += counts[i];
    double sum = load_d(&s->value, reset);
    double inf = INFINITY, ninf = -INFINITY;
    uint64_t xi, xn;
    memcpy(&xi, &inf, 8);
    memcpy(&xn, &ninf, 8);
    uint64_t mn = reset ? atomic_exchange(&s->min, xi) : atomic_load(&s->min);
    uint64_t mx = reset ? atomic_exchange(&s->max, xn) : atomic_load(&s->max);
    size_t st = pbw_msg_begin(b, 1, 2);
    pbw_fixed64(b, 2, start);
    pbw_fixed64(b, 3, now);
    pbw_fixed64(b, 4, count);
    pbw_double(b, 5, sum);
    pbw_packed_fixed64(b, 6, counts, in->nb + 1);
    pbw_packed_double(b, 7, in->bounds, in->nb);
    osdk_attrs_encode(b, 9, s->attrs.v, s->attrs.n, &s->arena);
    if (count) {
        pbw_fixed64(b, 11, mn);
        pbw_fixed64(b, 12, mx);
    }
    pbw_msg_end(b, st, 2);
}

/* Encodes one instrument as a Metric (field 2 of ScopeMetrics). */
static void enc_instrument(pbw_buf_t *b, ocelot_instrument_t *in, uint64_t now)
{
    int delta = is_delta(in);
    mstate_t *ms = &g_ms;
    pthread_mutex_lock(&in->mu);
    series_t *all = in->all;
    pthread_mutex_unlock(&in->mu);
    if (!all) return;
    size_t st = pbw_msg_begin(b, 2, 2);
    pbw_bytes(b, 1, in->name, strlen(in->name));
    if (in->desc[0]) pbw_bytes(b, 2, in->desc, strlen(in->desc));
    if (in->unit[0]) pbw_bytes(b, 3, in->unit, strlen(in->unit));
    uint32_t dfield = 7; /* Sum */
    if (in->kind == OCELOT_GAUGE || in->kind == OCELOT_OBSERVABLE_GAUGE) dfield = 5;
    if (in->kind == OCELOT_HISTOGRAM) dfield = 9;
    size_t ds = pbw_msg_begin(b, dfield, 3);
    for (series_t *s = all; s; s = s->next_all) {
        int t = atomic_fetch_and_explicit(&s->touched, ~1, memory_order_relaxed);
        if (!(t & 2)) continue; /* kept from an earlier run, not used in this one */
        int touched = t & 1;
        uint64_t start = delta ? s->start_ns : ms->start_ns;
        if (delta && !touched) {
            s->start_ns = now;
            continue; /* nothing recorded in this interval */
        }
        if (in->kind == OCELOT_HISTOGRAM) {
            enc_hist_dp(b, in, s, start, now, delta);
        } else if (in->kind == OCELOT_GAUGE || in->kind == OCELOT_OBSERVABLE_GAUGE) {
            if (touched || !delta) enc_number_dp(b, s, 0, now, load_d(&s->value, 0));
        } else if (in->kind == OCELOT_OBSERVABLE_COUNTER && delta) {
            double cur = load_d(&s->value, 0);
            enc_number_dp(b, s, start, now, cur - s->last_obs);
            s->last_obs = cur;
        } else {
            enc_number_dp(b, s, start, now, load_d(&s->value, delta));
        }
        if (delta) s->start_ns = now;
    }
    if (dfield != 5) pbw_uint(b, 2, delta ? 1 : 2); /* DELTA = 1, CUMULATIVE = 2 */
    if (dfield == 7)
        pbw_uint(b, 3, in->kind == OCELOT_COUNTER || in->kind == OCELOT_OBSERVABLE_COUNTER);
    pbw_msg_end(b, ds, 3);
    pbw_msg_end(b, st, 2);
}

/* Self-metrics of the SDK as cumulative sums / gauges of scope "libocelot". */
static void enc_self(pbw_buf_t *b, uint64_t now)
{
    ocelot_stats_t s;
    ocelot_stats_get(&s);
    static const struct {
        const char *name;
        size_t off;
        int gauge;
    } t[] = {
        {"otel.sdk.span.exported", offsetof(ocelot_stats_t, spans_exported), 0},
        {"otel.sdk.span.dropped", offsetof(ocelot_stats_t, spans_dropped), 0},
        {"otel.sdk.span.export_failures", offsetof(ocelot_stats_t, span_export_failures), 0},
        {"otel.sdk.span.queue_size", offsetof(ocelot_stats_t, span_queue_size), 1},
        {"otel.sdk.log.exported", offsetof(ocelot_stats_t, logs_exported), 0},
        {"otel.sdk.log.dropped", offsetof(ocelot_stats_t, logs_dropped), 0},
        {"otel.sdk.log.export_failures", offsetof(ocelot_stats_t, log_export_failures), 0},
        {"otel.sdk.log.queue_size", offsetof(ocelot_stats_t, log_queue_size), 1},
        {"otel.sdk.metric.export_failures", offsetof(ocelot_stats_t, metric_export_failures), 0},
        {"otel.sdk.metric.overflows", offsetof(ocelot_stats_t, metric_overflows), 0},
        {"otel.sdk.export.retries", offsetof(ocelot_stats_t, export_retries), 0},
    };
    size_t ss = pbw_msg_begin(b, 2, 3);
    size_t sc = pbw_msg_begin(b, 1, 1);
    pbw_bytes(b, 1, "libocelot", 9);
    pbw_bytes(b, 2, OCELOT_VERSION, strlen(OCELOT_VERSION));
    pbw_msg_end(b, sc, 1);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint64_t v;
        memcpy(&v, (const char *)&s + t[i].off, 8);
        size_t st = pbw_msg_begin(b, 2, 2);
        pbw_bytes(b, 1, t[i].name, strlen(t[i].name));
        pbw_bytes(b, 3, "{item}", 6);
        size_t ds = pbw_msg_begin(b, t[i].gauge ? 5 : 7, 1);
        size_t dp = pbw_msg_begin(b, 1, 1);
        if (!t[i].gauge) pbw_fixed64(b, 2, g_ms.start_ns);
        pbw_fixed64(b, 3, now);
        pbw_fixed64(b, 6, v); /* as_int (sfixed64) */
        pbw_msg_end(b, dp, 1);
        if (!t[i].gauge) {
            pbw_uint(b, 2, 2);
            pbw_uint(b, 3, 1);
        }
        pbw_msg_end(b, ds, 1);
        pbw_msg_end(b, st, 2);
    }
    pbw_msg_end(b, ss, 3);
}

/* Has shutdown abandoned the reader (zombie)? Its run is over: the
 * instruments may already belong to the next run. */
static int abandoned(mstate_t *ms)
{
    pthread_mutex_lock(&ms->mu);
    int z = ms->zombie;
    pthread_mutex_unlock(&ms->mu);
    return z;
}

/* Builds the ExportMetricsServiceRequest of one collection into b.
 * Returns 0, or -1 (b unusable) when the reader was abandoned meanwhile:
 * a reader stuck in an observable callback past shutdown must not call
 * the next run's callbacks nor read (and reset) its values. */
int osdk_metrics_collect(pbw_buf_t *b, const pbw_buf_t *res);
int osdk_metrics_collect(pbw_buf_t *b, const pbw_buf_t *res)
{
    mstate_t *ms = &g_ms;
    uint64_t now = osdk_now_ns();
    /* no instrument lock: the list is append-only, instruments and series
     * are never freed, and only one reader collects at a time */
    /* observable callbacks first (one may block: checked before each) */
    for (ocelot_instrument_t *in = ms->insts; in; in = in->next)
        if (in->cb && atomic_load(&in->active)) {
            if (abandoned(ms)) return -1;
            ocelot_observer_t o = {in};
            in->cb(&o, in->cb_ud);
        }
    /* The values are read under ms->mu: shutdown marks an abandoned reader
     * under it before any instrument is handed to the next run, so this
     * reads either its own run or nothing. (Lock order ms->mu -> in->mu;
     * the self-metrics, which take the stats lock, are read after.) */
    pthread_mutex_lock(&ms->mu);
    if (ms->zombie) {
        pthread_mutex_unlock(&ms->mu);
        return -1;
    }
    size_t rs = pbw_msg_begin(b, 1, 3);
    if (res->len) pbw_bytes(b, 1, res->p, res->len);
    /* one ScopeMetrics per meter, in first-seen order */
    osdk_scope_t *done[64];
    size_t nd = 0;
    for (ocelot_instrument_t *in = ms->insts; in; in = in->next) {
        if (!atomic_load(&in->active)) continue;
        size_t k;
        for (k = 0; k < nd; k++)
            if (done[k] == in->meter) break;
        if (k < nd) continue;
        if (nd < 64) done[nd++] = in->meter;
        size_t ss = pbw_msg_begin(b, 2, 3);
        size_t sc = pbw_msg_begin(b, 1, 1);
        pbw_raw(b, in->meter->pb.p, in->meter->pb.len);
        pbw_msg_end(b, sc, 1);
        for (ocelot_instrument_t *j = in; j; j = j->next)
            if (j->meter == in->meter && atomic_load(&j->active)) enc_instrument(b, j, now);
        if (in->meter->schema_url)
            pbw_bytes(b, 3, in->meter->schema_url, strlen(in->meter->schema_url));
        pbw_msg_end(b, ss, 3);
    }
    ms->last_collect_ns = now;
    atomic_store_explicit(&ms->window, now, memory_order_relaxed);
    pthread_mutex_unlock(&ms->mu);
    enc_self(b, now);
    pbw_msg_end(b, rs, 3);
    return 0;
}

static void collect_and_export(mstate_t *ms, uint64_t deadline)
{
    if (ms->exp->cfg.kind == OCELOT_EXPORTER_NONE) return;
    pbw_reset(&ms->body);
    if (osdk_metrics_collect(&ms->body, &ms->exp->resource)) return; /* abandoned */
    if (ms->body.err) {
        osdk_count(&osdk_g.metric_export_failures, 1);
        return;
    }
    if (ms->exp->cfg.kind == OCELOT_EXPORTER_CONSOLE) {
        /* one JSON object per collection: byte size and series; the full
         * data is what the OTLP exporter sends */
        printf("{\"type\":\"metrics\",\"request_bytes\":%zu}\n", ms->body.len);
        fflush(stdout);
        osdk_count(&osdk_g.metric_exports, 1);
        return;
    }
    int64_t rej = 0;
    int rc = osdk_exporter_send(ms->exp, ms->body.p, ms->body.len, &ms->abort_at, deadline, &rej);
    osdk_count(rc ? &osdk_g.metric_export_failures : &osdk_g.metric_exports, 1);
    if (ms->body.cap > (8u << 20)) pbw_free(&ms->body);
}

static void *reader_main(void *arg)
{
    mstate_t *ms = arg;
    pthread_mutex_lock(&ms->mu);
    for (;;) {
        uint64_t wake = osdk_mono_ns() + (uint64_t)ms->interval_ms * 1000000u;
        while (!ms->stop && ms->req == ms->done) {
            struct timespec ts = {(time_t)(wake / 1000000000u), (long)(wake % 1000000000u)};
            if (pthread_cond_timedwait(&ms->cv, &ms->mu, &ts) == ETIMEDOUT) break;
        }
        uint64_t target = ms->req;
        int stop = ms->stop;
        uint64_t dl = ms->deadline;
        uint64_t own = osdk_mono_ns() + (uint64_t)ms->timeout_ms * 1000000u;
        pthread_mutex_unlock(&ms->mu);
        if (!dl || (target == ms->done && !stop) || own < dl) dl = own;
        collect_and_export(ms, dl);
        pthread_mutex_lock(&ms->mu);
        ms->done = target;
        pthread_cond_broadcast(&ms->done_cv);
        if (stop) break;
    }
    osdk_exporter_t *exp = NULL;
    if (ms->zombie) { /* abandoned by shutdown: clean up after ourselves */
        exp = ms->exp;
        ms->exp = NULL;
        pbw_free(&ms->body);
        ms->zombie = 0;
        ms->started = 0;
    } else {
        ms->reader_left = 1; /* the stopper cleans up, joined or not */
    }
    pthread_mutex_unlock(&ms->mu);
    osdk_exporter_destroy(exp);
    return NULL;
}

static void init_conds(mstate_t *ms)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ms->cv, &ca);
    pthread_cond_init(&ms->done_cv, &ca);
    pthread_condattr_destroy(&ca);
}

static void ms_once(void)
{
    init_conds(&g_ms);
}

static int start_thread(mstate_t *ms)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    ms->reader_left = 0;
    int rc = pthread_create(&ms->thread, NULL, reader_main, ms);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    ms->started = rc == 0;
    return rc ? OCELOT_ENOMEM : 0;
}

/* Called by ocelot_init under osdk_g.lock. */
int osdk_metrics_start(void)
{
    mstate_t *ms = &g_ms;
    pthread_once(&g_ms_once, ms_once);
    osdk_exporter_t *exp =
        osdk_exporter_create(OCELOT_SIGNAL_METRICS, &osdk_g.cfg.exp[OCELOT_SIGNAL_METRICS]);
    if (!exp) return OCELOT_ENOMEM;
    int rc = 0;
    pthread_mutex_lock(&ms->lock);
    pthread_mutex_lock(&ms->mu);
    ms->delta = osdk_g.cfg.metric_delta;
    if (ms->started) {
        /* the previous run's reader is still stuck (zombie): record, but do
         * not collect or export in this run */
        osdk_warn("the previous metric reader has not exited; metrics are not exported");
        ms->running = 1;
        pthread_mutex_unlock(&ms->mu);
        pthread_mutex_unlock(&ms->lock);
        osdk_exporter_destroy(exp);
        return 0;
    }
    pbw_init(&ms->body, osdk_pbw_realloc, NULL);
    ms->start_ns = osdk_now_ns();
    ms->last_collect_ns = 0;
    atomic_store(&ms->window, ms->start_ns);
    ms->req = ms->done = 0;
    ms->stop = 0;
    ms->deadline = 0;
    ms->timeout_ms = osdk_g.cfg.metric_timeout_ms;
    ms->interval_ms = osdk_g.cfg.metric_interval_ms;
    atomic_store(&ms->abort_at, 0);
    ms->exp = exp;
    rc = start_thread(ms);
    if (rc) {
        ms->exp = NULL;
        osdk_exporter_destroy(exp);
    } else {
        ms->running = 1;
    }
    pthread_mutex_unlock(&ms->mu);
    pthread_mutex_unlock(&ms->lock);
    return rc;
}

/* Asks the reader for a collection (and to stop) and waits until deadline.
 * OCELOT_ESTATE when the reader is not running (or is stopping). */
static int request(mstate_t *ms, uint64_t deadline, int stop)
{
    int rc = 0;
    pthread_mutex_lock(&ms->mu);
    if (!ms->started || ms->stop) {
        pthread_mutex_unlock(&ms->mu);
        return OCELOT_ESTATE;
    }
    uint64_t ticket = ++ms->req;
    ms->deadline = deadline;
    if (stop) {
        ms->stop = 1;
        atomic_store(&ms->abort_at, deadline);
    }
    pthread_cond_signal(&ms->cv);
    while (ms->done < ticket) {
        struct timespec ts = {(time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u)};
        if (pthread_cond_timedwait(&ms->done_cv, &ms->mu, &ts) == ETIMEDOUT) {
            rc = OCELOT_ETIMEDOUT;
            if (stop) atomic_store(&ms->abort_at, 1); /* abort now */
            break;
        }
    }
    pthread_mutex_unlock(&ms->mu);
    return rc;
}

int ocelot_metrics_flush(uint32_t timeout_ms)
{
    mstate_t *ms = &g_ms;
    pthread_once(&g_ms_once, ms_once);
    pthread_mutex_lock(&ms->mu);
    uint32_t t = timeout_ms ? timeout_ms : ms->timeout_ms;
    pthread_mutex_unlock(&ms->mu);
    return request(ms, osdk_mono_ns() + (uint64_t)t * 1000000u, 0);
}

/* Final collection, then the reader stops and every instrument becomes
 * inactive (nothing is freed: see the invariants). */
void osdk_metrics_stop(uint64_t deadline)
{
    mstate_t *ms = &g_ms;
    osdk_exporter_t *exp = NULL;
    if (request(ms, deadline, 1) != OCELOT_ESTATE) { /* the reader was running */
        int joined = osdk_join_until(ms->thread, deadline) == 0;
        pthread_mutex_lock(&ms->mu);
        /* the reader may have finished between the join timing out and
         * here: it saw no zombie flag, so nobody else will clean up (and
         * started would stay set, keeping every later run's reader off) */
        if (joined || ms->reader_left) {
            ms->started = 0;
            exp = ms->exp;
            ms->exp = NULL;
            pbw_free(&ms->body);
        } else {
            ms->zombie = 1; /* an observable callback or the exporter is stuck */
            osdk_warn("metric reader still busy %d ms after the shutdown deadline; abandoned",
                      OSDK_JOIN_GRACE_MS);
        }
        pthread_mutex_unlock(&ms->mu);
    }
    /* without ms->lock: an abandoned reader is never waited for */
    ms->running = 0;
    for (ocelot_instrument_t *in = ms->insts; in; in = in->next)
        atomic_store(&in->active, 0);
    osdk_exporter_destroy(exp);
}

void osdk_metrics_atfork_prepare(void);
void osdk_metrics_atfork_prepare(void)
{
    pthread_mutex_lock(&g_ms.lock);
    pthread_mutex_lock(&g_ms.mu);
}

void osdk_metrics_atfork_parent(void);
void osdk_metrics_atfork_parent(void)
{
    pthread_mutex_unlock(&g_ms.mu);
    pthread_mutex_unlock(&g_ms.lock);
}

void osdk_exporter_atfork_child(osdk_exporter_t *e);
void osdk_metrics_atfork_child(void)
{
    mstate_t *ms = &g_ms;
    pthread_mutex_init(&ms->mu, NULL);
    pthread_mutex_init(&ms->lock, NULL);
    init_conds(ms);
    for (ocelot_instrument_t *in = ms->insts; in; in = in->next)
        pthread_mutex_init(&in->mu, NULL);
    if (!ms->started) return;
    if (ms->zombie) { /* the stuck reader did not come along: nothing to restart */
        ms->zombie = 0;
        ms->started = 0;
        return;
    }
    ms->req = ms->done = 0;
    ms->stop = 0;
    atomic_store(&ms->abort_at, 0);
    pbw_init(&ms->body, osdk_pbw_realloc, NULL);
    osdk_exporter_atfork_child(ms->exp);
    if (start_thread(ms)) osdk_warn("could not restart the metric reader after fork");
}
