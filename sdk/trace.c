/*
 * trace.c — tracers, spans, samplers, the per-thread id generator and the
 * thread-local current span.
 *
 * Invariants:
 *  - ocelot_span_start never returns NULL and never blocks; the hot path
 *    (enabled check, parent lookup, sampling, slot from the thread cache,
 *    ids, clock, name copy) takes no lock and, after warm-up, allocates
 *    nothing.
 *  - A span is written only by the thread using it until ocelot_span_end,
 *    which publishes it to the batch processor's queue (release ordering).
 *  - Ids come from a per-thread wyrand state seeded from getrandom, reseeded
 *    in a forked child; span ids and trace ids are never all zero.
 *
 * Workload: up to ~10^7 spans/s/thread; tracers are few and long-lived.
 */
#include "records.h"

#include <sys/random.h>
#include <unistd.h>

/* ---- ids ---- */

static _Atomic uint32_t g_fork_gen = 1; /* bumped in a forked child */
static OSDK_TLS uint64_t tl_rng;        /* wyrand state */
static OSDK_TLS uint32_t tl_rng_gen;    /* g_fork_gen at seeding */

static void seed_rng(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32 ^
            (uint64_t)(uintptr_t)&tl_rng;
    }
    tl_rng = s;
    tl_rng_gen = atomic_load_explicit(&g_fork_gen, memory_order_relaxed);
}

/* One wyrand step on the thread's state (caller checked the seeding). */
static inline uint64_t rand_step(void)
{
    uint64_t s = tl_rng += 0xa0761d6478bd642full;
    __uint128_t m = (__uint128_t)s * (s ^ 0xe7037ed1a0b428dbull);
    return (uint64_t)(m >> 64) ^ (uint64_t)m;
}

static inline void rand_check(void)
{
    if (OSDK_UNLIKELY(tl_rng_gen != atomic_load_explicit(&g_fork_gen, memory_order_relaxed)))
        seed_rng();
}

uint64_t osdk_rand64(void)
{
    rand_check();
    return rand_step();
}

void osdk_trace_atfork_child(void);
void osdk_trace_atfork_prepare(void);
void osdk_trace_atfork_parent(void);
static pthread_mutex_t g_scope_lock = PTHREAD_MUTEX_INITIALIZER; /* guards g_scopes */

void osdk_trace_atfork_prepare(void)
{
    pthread_mutex_lock(&g_scope_lock);
}

void osdk_trace_atfork_parent(void)
{
    pthread_mutex_unlock(&g_scope_lock);
}

void osdk_trace_atfork_child(void)
{
    pthread_mutex_init(&g_scope_lock, NULL);
    atomic_fetch_add(&g_fork_gen, 1);
}

static inline void put64be(uint8_t *d, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(d, &v, 8);
}

static inline uint64_t get64be(const uint8_t *d)
{
    uint64_t v;
    memcpy(&v, d, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

int ocelot_span_context_valid(const ocelot_span_context_t *c)
{
    if (!c) return 0;
    uint64_t a, b, d;
    memcpy(&a, c->trace_id, 8);
    memcpy(&b, c->trace_id + 8, 8);
    memcpy(&d, c->span_id, 8);
    return (a | b) != 0 && d != 0;
}

/* ---- samplers ---- */

/* TraceIdRatioBased: the low-order 8 bytes of the trace id, big endian,
 * shifted right once, compared with ratio * 2^63 — the same trace id always
 * gets the same decision for the same ratio. */
int osdk_ratio_sample(double ratio, const uint8_t trace_id[16]);
int osdk_ratio_sample(double ratio, const uint8_t trace_id[16])
{
    if (ratio >= 1.0) return 1;
    if (!(ratio > 0.0)) return 0;
    uint64_t bound = (uint64_t)(ratio * 9223372036854775808.0); /* 2^63 */
    return (get64be(trace_id + 8) >> 1) < bound;
}

/* Returns 1 to record and sample. has_parent/parent_sampled/parent_remote
 * describe the parent context. */
static inline int sample(int sampler, double ratio, int has_parent, int parent_sampled,
                         int parent_remote, const uint8_t trace_id[16])
{
    (void)parent_remote; /* the default delegates are the same for remote and local parents */
    switch (sampler) {
    case OSDK_SAMPLER_ALWAYS_ON:
        return 1;
    case OSDK_SAMPLER_ALWAYS_OFF:
        return 0;
    case OSDK_SAMPLER_RATIO:
        return osdk_ratio_sample(ratio, trace_id);
    case OSDK_SAMPLER_PB_ALWAYS_ON:
    case OSDK_SAMPLER_PB_ALWAYS_OFF:
    case OSDK_SAMPLER_PB_RATIO:
        /* remote_parent_sampled / local_parent_sampled -> always_on;
         * remote_parent_not_sampled / local_parent_not_sampled -> always_off. */
        if (has_parent) return parent_sampled;
        if (sampler == OSDK_SAMPLER_PB_ALWAYS_ON) return 1;
        if (sampler == OSDK_SAMPLER_PB_ALWAYS_OFF) return 0;
        return osdk_ratio_sample(ratio, trace_id);
    }
    return 1;
}

int osdk_sample(int sampler, double ratio, int has_parent, int parent_sampled, int parent_remote,
                const uint8_t trace_id[16]);
int osdk_sample(int sampler, double ratio, int has_parent, int parent_sampled, int parent_remote,
                const uint8_t trace_id[16])
{
    return sample(sampler, ratio, has_parent, parent_sampled, parent_remote, trace_id);
}

/* ---- scopes ---- */

static osdk_scope_t *g_scopes;    /* guarded by g_scope_lock */
static osdk_scope_t g_noop_scope; /* returned when disabled */

static int str_eq(const char *a, const char *b)
{
    return (!a || !*a) ? (!b || !*b) : (b && !strcmp(a, b));
}

osdk_scope_t *osdk_scope_get(int kind, const char *name, const char *version,
                             const char *schema_url)
{
    if (!name) name = "";
    pthread_mutex_lock(&g_scope_lock);
    osdk_scope_t *s;
    for (s = g_scopes; s; s = s->next)
        if (s->kind == kind && !strcmp(s->name, name) && str_eq(s->version, version) &&
            str_eq(s->schema_url, schema_url))
            goto done;
    s = osdk_calloc(sizeof *s);
    if (!s) goto done;
    s->kind = kind;
    s->name = osdk_strdup(name);
    s->version = version && *version ? osdk_strdup(version) : NULL;
    s->schema_url = schema_url && *schema_url ? osdk_strdup(schema_url) : NULL;
    pbw_init(&s->pb, osdk_pbw_realloc, NULL);
    if (*name) pbw_bytes(&s->pb, 1, name, strlen(name));
    if (version && *version) pbw_bytes(&s->pb, 2, version, strlen(version));
    if (!s->name || (version && *version && !s->version) ||
        (schema_url && *schema_url && !s->schema_url) || s->pb.err) {
        osdk_free(s->name);
        osdk_free(s->version);
        osdk_free(s->schema_url);
        pbw_free(&s->pb);
        osdk_free(s);
        s = NULL;
        goto done;
    }
    s->next = g_scopes;
    g_scopes = s;
done:
    pthread_mutex_unlock(&g_scope_lock);
    return s;
}

ocelot_tracer_t *ocelot_tracer_get(const char *name, const char *version, const char *schema_url)
{
    if (!atomic_load_explicit(&osdk_g.enabled, memory_order_relaxed))
        return (ocelot_tracer_t *)&g_noop_scope;
    osdk_scope_t *s = osdk_scope_get(0, name, version, schema_url);
    return (ocelot_tracer_t *)(s ? s : &g_noop_scope);
}

/* ---- spans ---- */

static struct ocelot_span g_noop_span; /* state NOOP, ids zero */
static OSDK_TLS ocelot_span_t *tl_current;

void osdk_span_slot_init(struct ocelot_span *s)
{
    memset(s, 0, sizeof *s);
    osdk_attrs_init(&s->attrs);
    osdk_arena_init(&s->arena);
}

/* Resets a recycled slot; retained buffers bigger than this are freed so a
 * pathological span does not pin memory forever. */
#define KEEP_ARENA (64u << 10)

static inline void reset_slot(ocelot_span_t *s)
{
    osdk_attrs_clear(&s->attrs);
    s->n_events = s->dropped_events = 0;
    s->n_links = s->dropped_links = 0;
    s->n_sub = 0;
    s->status = 0;
    s->status_len = 0;
}

static void put_ts(ocelot_span_t *s, const char *ts, size_t n)
{
    if (!n) return;
    uint32_t off = osdk_arena_put(&s->arena, ts, n);
    if (off == UINT32_MAX) return;
    s->ts_off = off;
    s->ts_len = (uint32_t)n;
}

static int add_link(ocelot_span_t *s, const ocelot_link_t *l);

static ocelot_span_t *span_start(ocelot_tracer_t *t, const char *name,
                                 const ocelot_span_options_t *o);

ocelot_span_t *ocelot_span_start(ocelot_tracer_t *t, const char *name,
                                 const ocelot_span_options_t *o)
{
    /* the disabled / no-op check stays in a tiny frame */
    if (OSDK_UNLIKELY(!atomic_load_explicit(&osdk_g.enabled, memory_order_relaxed)) || !t ||
        (osdk_scope_t *)t == &g_noop_scope)
        return &g_noop_span;
    return span_start(t, name, o);
}

static __attribute__((noinline)) ocelot_span_t *span_start(ocelot_tracer_t *t, const char *name,
                                                           const ocelot_span_options_t *o)
{
    /* parent */
    const uint8_t *ptid = NULL, *psid = NULL;
    const char *pts = NULL;
    size_t ptsn = 0;
    int pflags = 0, premote = 0;
    const ocelot_span_t *ps = NULL;
    if (o && o->parent) {
        if (ocelot_span_context_valid(o->parent)) {
            ptid = o->parent->trace_id;
            psid = o->parent->span_id;
            pflags = o->parent->flags;
            premote = o->parent->is_remote;
            pts = o->parent->trace_state;
            ptsn = o->parent->trace_state_len;
        }
    } else if (o && o->parent_span) {
        ps = o->parent_span;
    } else if (!(o && o->root)) {
        ps = tl_current;
    }
    if (ps && (ps->state == OSDK_SPAN_RECORDING || ps->state == OSDK_SPAN_NONREC)) {
        ptid = ps->trace_id;
        psid = ps->span_id;
        pflags = ps->flags;
        pts = ps->arena.p + ps->ts_off;
        ptsn = ps->ts_len;
    }

    ocelot_span_t *s = (ocelot_span_t *)osdk_pool_get(OSDK_POOL_SPANS);
    if (OSDK_UNLIKELY(!s)) {
        osdk_count(&osdk_g.spans_unqueued, 1); /* dropped (stats) */
        return &g_noop_span;
    }
    if (OSDK_UNLIKELY(s->arena.cap > KEEP_ARENA)) osdk_arena_dispose(&s->arena);
    s->arena.len = 0;
    s->ts_len = 0;
    s->rec.epoch = atomic_load_explicit(&osdk_g.epoch, memory_order_relaxed);
    if (ptid) {
        memcpy(s->trace_id, ptid, 16);
        memcpy(s->parent_id, psid, 8);
        s->has_parent = 1;
        s->parent_remote = (uint8_t)premote;
    } else {
        uint64_t hi, lo;
        rand_check();
        do {
            hi = rand_step();
            lo = rand_step();
        } while (OSDK_UNLIKELY((hi | lo) == 0));
        put64be(s->trace_id, hi);
        put64be(s->trace_id + 8, lo);
        memset(s->parent_id, 0, 8);
        s->has_parent = 0;
        s->parent_remote = 0;
    }
    uint64_t sid;
    rand_check();
    do
        sid = rand_step();
    while (OSDK_UNLIKELY(sid == 0));
    put64be(s->span_id, sid);
    s->scope = (osdk_scope_t *)t;
    if (OSDK_UNLIKELY(ptsn)) put_ts(s, pts, ptsn);

    const osdk_hotcfg_t *hot = osdk_hot();
    int sampled = sample(hot->sampler, hot->sampler_arg, ptid != NULL,
                         pflags & OCELOT_FLAG_SAMPLED, premote, s->trace_id);
    if (!sampled) {
        s->state = OSDK_SPAN_NONREC;
        s->flags = (uint8_t)(pflags & ~OCELOT_FLAG_SAMPLED);
        return s;
    }
    reset_slot(s); /* keeps the tracestate copied above */
    s->state = OSDK_SPAN_RECORDING;
    s->flags = (uint8_t)(pflags | OCELOT_FLAG_SAMPLED);
    s->kind = (uint8_t)(o && o->kind ? o->kind : OCELOT_SPAN_INTERNAL);
    s->start_ns = o && o->start_ns ? o->start_ns : osdk_now_ns();
    s->end_ns = 0;
    size_t nl = name ? strlen(name) : 0;
    uint32_t off = osdk_arena_put(&s->arena, name, nl);
    s->name_off = off == UINT32_MAX ? 0 : off;
    s->name_len = off == UINT32_MAX ? 0 : (uint32_t)nl;
    if (o) {
        const osdk_limits_t *lim = &hot->span_limits;
        for (size_t i = 0; i < o->n_attrs; i++)
            osdk_attrs_set(&s->attrs, &s->arena, &o->attrs[i], lim->attr_count, lim->value_len, 1);
        for (size_t i = 0; i < o->n_links; i++)
            add_link(s, &o->links[i]);
    }
    return s;
}

void ocelot_span_end(ocelot_span_t *s, uint64_t end_ns)
{
    if (OSDK_UNLIKELY(!s)) return;
    uint8_t st = s->state;
    if (st == OSDK_SPAN_NONREC) {
        s->state = OSDK_SPAN_ENDED;
        osdk_pool_put(&s->rec);
        return;
    }
    if (st != OSDK_SPAN_RECORDING) return; /* no-op span or ended twice */
    s->end_ns = end_ns ? end_ns : osdk_now_ns();
    s->state = OSDK_SPAN_ENDED;
    osdk_processor_t *p = osdk_proc(OCELOT_SIGNAL_TRACES);
    if (OSDK_UNLIKELY(!p ||
                      s->rec.epoch != atomic_load_explicit(&osdk_g.epoch, memory_order_relaxed))) {
        osdk_pool_put(&s->rec);
        return;
    }
    if (OSDK_UNLIKELY(osdk_processor_offer(p, s) != 0)) {
        osdk_count(&osdk_g.spans_unqueued, 1); /* dropped (stats) */
        osdk_pool_put(&s->rec);
    }
}

int ocelot_span_is_recording(const ocelot_span_t *s)
{
    return s && s->state == OSDK_SPAN_RECORDING;
}

void ocelot_span_get_context(const ocelot_span_t *s, ocelot_span_context_t *out)
{
    if (!out) return;
    memset(out, 0, offsetof(ocelot_span_context_t, trace_state) + 1);
    if (!s || (s->state != OSDK_SPAN_RECORDING && s->state != OSDK_SPAN_NONREC)) return;
    memcpy(out->trace_id, s->trace_id, 16);
    memcpy(out->span_id, s->span_id, 8);
    out->flags = s->flags;
    out->is_remote = 0;
    size_t n = s->ts_len > OCELOT_TRACESTATE_MAX ? OCELOT_TRACESTATE_MAX : s->ts_len;
    memcpy(out->trace_state, s->arena.p + s->ts_off, n);
    out->trace_state[n] = 0;
    out->trace_state_len = (uint16_t)n;
}

int ocelot_span_set_attrs(ocelot_span_t *s, const ocelot_attr_t *attrs, size_t n)
{
    if (!s || s->state != OSDK_SPAN_RECORDING) return s ? 0 : OCELOT_EINVAL;
    if (n && !attrs) return OCELOT_EINVAL;
    const osdk_limits_t *lim = &osdk_hot()->span_limits;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        int r = osdk_attrs_set(&s->attrs, &s->arena, &attrs[i], lim->attr_count, lim->value_len, 1);
        if (r && !rc) rc = r;
    }
    return rc;
}

int ocelot_span_set_str(ocelot_span_t *s, const char *key, const char *value)
{
    ocelot_attr_t a = OCELOT_STR(key, value);
    return ocelot_span_set_attrs(s, &a, 1);
}

int ocelot_span_set_int(ocelot_span_t *s, const char *key, int64_t value)
{
    ocelot_attr_t a = OCELOT_INT(key, value);
    return ocelot_span_set_attrs(s, &a, 1);
}

int ocelot_span_set_double(ocelot_span_t *s, const char *key, double value)
{
    ocelot_attr_t a = OCELOT_DBL(key, value);
    return ocelot_span_set_attrs(s, &a, 1);
}

int ocelot_span_set_bool(ocelot_span_t *s, const char *key, int value)
{
    ocelot_attr_t a = OCELOT_BOOL(key, value);
    return ocelot_span_set_attrs(s, &a, 1);
}

/* Appends attributes to s->sub (the event/link attribute store). */
static int add_sub(ocelot_span_t *s, const ocelot_attr_t *attrs, size_t n, uint32_t max,
                   uint32_t *first, uint32_t *count, uint32_t *dropped)
{
    const osdk_limits_t *lim = &osdk_hot()->span_limits;
    *first = s->n_sub;
    *count = 0;
    *dropped = 0;
    for (size_t i = 0; i < n; i++) {
        if (*count >= max) {
            (*dropped)++;
            continue;
        }
        if (s->n_sub == s->cap_sub) {
            uint32_t cap = s->cap_sub ? s->cap_sub * 2 : 8;
            osdk_attr_t *nv = osdk_realloc(s->sub, cap * sizeof *nv);
            if (!nv) return OCELOT_ENOMEM;
            s->sub = nv;
            s->cap_sub = cap;
        }
        /* Wrap the sub store as an attrs list to reuse the setter. */
        osdk_attrs_t tmp;
        tmp.v = s->sub + s->n_sub;
        tmp.n = 0;
        tmp.cap = 1;
        tmp.dropped = 0;
        int rc = osdk_attrs_set(&tmp, &s->arena, &attrs[i], 1, lim->value_len, 0);
        if (rc == OCELOT_ENOMEM) return rc;
        if (rc) continue;
        s->n_sub++;
        (*count)++;
    }
    return 0;
}

int ocelot_span_add_event(ocelot_span_t *s, const char *name, uint64_t time_ns,
                          const ocelot_attr_t *attrs, size_t n)
{
    if (!s || s->state != OSDK_SPAN_RECORDING) return s ? 0 : OCELOT_EINVAL;
    if (n && !attrs) return OCELOT_EINVAL;
    const osdk_limits_t *lim = &osdk_hot()->span_limits;
    if (s->n_events >= lim->event_count) {
        s->dropped_events++;
        return OCELOT_EFULL;
    }
    if (s->n_events == s->cap_events) {
        uint32_t cap = s->cap_events ? s->cap_events * 2 : 4;
        osdk_event_t *nv = osdk_realloc(s->events, cap * sizeof *nv);
        if (!nv) return OCELOT_ENOMEM;
        s->events = nv;
        s->cap_events = cap;
    }
    osdk_event_t *e = &s->events[s->n_events];
    e->time_ns = time_ns ? time_ns : osdk_now_ns();
    size_t nl = name ? strlen(name) : 0;
    uint32_t off = osdk_arena_put(&s->arena, name, nl);
    if (off == UINT32_MAX) return OCELOT_ENOMEM;
    e->name_off = off;
    e->name_len = (uint32_t)nl;
    int rc = add_sub(s, attrs, n, lim->event_attr_count, &e->attr_first, &e->n_attrs, &e->dropped);
    if (rc) return rc;
    s->n_events++;
    return 0;
}

int ocelot_span_record_exception(ocelot_span_t *s, const char *type, const char *message)
{
    ocelot_attr_t a[2];
    size_t n = 0;
    if (type) a[n++] = OCELOT_STR("exception.type", type);
    if (message) a[n++] = OCELOT_STR("exception.message", message);
    return ocelot_span_add_event(s, "exception", 0, a, n);
}

static int add_link(ocelot_span_t *s, const ocelot_link_t *l)
{
    if (!l || !ocelot_span_context_valid(l->ctx)) return OCELOT_EINVAL;
    const osdk_limits_t *lim = &osdk_hot()->span_limits;
    if (s->n_links >= lim->link_count) {
        s->dropped_links++;
        return OCELOT_EFULL;
    }
    if (s->n_links == s->cap_links) {
        uint32_t cap = s->cap_links ? s->cap_links * 2 : 2;
        osdk_link_t *nv = osdk_realloc(s->links, cap * sizeof *nv);
        if (!nv) return OCELOT_ENOMEM;
        s->links = nv;
        s->cap_links = cap;
    }
    osdk_link_t *k = &s->links[s->n_links];
    memcpy(k->trace_id, l->ctx->trace_id, 16);
    memcpy(k->span_id, l->ctx->span_id, 8);
    k->flags = l->ctx->flags;
    k->ts_len = 0;
    k->ts_off = 0;
    size_t tn = l->ctx->trace_state_len;
    if (tn > OCELOT_TRACESTATE_MAX) tn = OCELOT_TRACESTATE_MAX;
    if (tn) {
        uint32_t off = osdk_arena_put(&s->arena, l->ctx->trace_state, tn);
        if (off == UINT32_MAX) return OCELOT_ENOMEM;
        k->ts_off = off;
        k->ts_len = (uint32_t)tn;
    }
    if (l->n_attrs && !l->attrs) return OCELOT_EINVAL;
    int rc = add_sub(s, l->attrs, l->n_attrs, lim->link_attr_count, &k->attr_first, &k->n_attrs,
                     &k->dropped);
    if (rc) return rc;
    s->n_links++;
    return 0;
}

int ocelot_span_add_link(ocelot_span_t *s, const ocelot_link_t *link)
{
    if (!s || s->state != OSDK_SPAN_RECORDING) return s ? 0 : OCELOT_EINVAL;
    return add_link(s, link);
}

void ocelot_span_set_status(ocelot_span_t *s, ocelot_status_t code, const char *description)
{
    if (!s || s->state != OSDK_SPAN_RECORDING) return;
    if (s->status == OCELOT_STATUS_OK) return; /* OK is final */
    if (code == OCELOT_STATUS_UNSET) return;   /* setting UNSET is ignored */
    if (code != OCELOT_STATUS_OK && code != OCELOT_STATUS_ERROR) return;
    s->status = (uint8_t)code;
    s->status_len = 0;
    if (code == OCELOT_STATUS_ERROR && description && *description) {
        size_t n = strlen(description);
        uint32_t off = osdk_arena_put(&s->arena, description, n);
        if (off != UINT32_MAX) {
            s->status_off = off;
            s->status_len = (uint32_t)n;
        }
    }
}

int ocelot_span_update_name(ocelot_span_t *s, const char *name)
{
    if (!s || s->state != OSDK_SPAN_RECORDING) return s ? 0 : OCELOT_EINVAL;
    size_t nl = name ? strlen(name) : 0;
    uint32_t off = osdk_arena_put(&s->arena, name, nl);
    if (off == UINT32_MAX) return OCELOT_ENOMEM;
    s->name_off = off;
    s->name_len = (uint32_t)nl;
    return 0;
}

ocelot_span_t *ocelot_span_current(void)
{
    return tl_current;
}

ocelot_span_t *ocelot_span_attach(ocelot_span_t *s)
{
    ocelot_span_t *prev = tl_current;
    tl_current = (s && s != &g_noop_span) ? s : NULL;
    return prev;
}

void ocelot_span_detach(ocelot_span_t *previous)
{
    tl_current = previous;
}
