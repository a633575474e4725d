/*
 * resource.c — builds the SDK's Resource once per init and encodes it as
 * an OTLP Resource message body (attributes = field 1).
 *
 * Precedence (later wins): SDK defaults (telemetry.sdk.*, host.name,
 * process.pid, service.name=unknown_service:<program>), then
 * OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME, then the options of
 * ocelot_init (resource_attrs, then service_name).
 */
#include "internal.h"

#include <errno.h>
#include <unistd.h>

typedef struct rb {
    osdk_attrs_t l; /* deduplicated attributes */
    osdk_arena_t a; /* their bytes */
    int rc;         /* first error */
} rb_t;

static void set(rb_t *r, const ocelot_attr_t *at)
{
    int rc = osdk_attrs_set(&r->l, &r->a, at, 1024, UINT32_MAX, 1);
    if (rc == OCELOT_ENOMEM && !r->rc) r->rc = rc;
}

static int set_kv(void *ud, const char *k, const char *v)
{
    ocelot_attr_t at = OCELOT_STR(k, v);
    set(ud, &at);
    return 0;
}

int osdk_resource_build(pbw_buf_t *out, const osdk_config_t *c, const ocelot_options_t *o)
{
    rb_t r;
    memset(&r, 0, sizeof r);
    osdk_attrs_init(&r.l);
    osdk_arena_init(&r.a);
    char svc[300];
    snprintf(svc, sizeof svc, "unknown_service:%s", program_invocation_short_name);
    char host[256];
    if (gethostname(host, sizeof host) != 0) host[0] = 0;
    host[sizeof host - 1] = 0;
    ocelot_attr_t defs[] = {
        OCELOT_STR("service.name", svc),
        OCELOT_STR("telemetry.sdk.name", "libocelot"),
        OCELOT_STR("telemetry.sdk.language", "c"),
        OCELOT_STR("telemetry.sdk.version", OCELOT_VERSION),
        OCELOT_STR("host.name", host),
        OCELOT_INT("process.pid", (int64_t)getpid()),
    };
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        if (i != 4 || host[0]) set(&r, &defs[i]);
    if (c->resource_attrs) osdk_parse_kv_list(c->resource_attrs, set_kv, &r);
    if (c->service_name) set_kv(&r, "service.name", c->service_name);
    if (o) {
        for (size_t i = 0; i < o->n_resource_attrs && o->resource_attrs; i++)
            set(&r, &o->resource_attrs[i]);
        if (o->service_name) set_kv(&r, "service.name", o->service_name);
    }
    pbw_reset(out);
    osdk_attrs_encode(out, 1, r.l.v, r.l.n, &r.a);
    for (uint32_t i = 0; i < r.l.n; i++) {
        const osdk_attr_t *d = &r.l.v[i];
        if (d->type == OCELOT_ATTR_STRING && d->key_len == 12 &&
            !memcmp(r.a.p + d->key_off, "service.name", 12))
            snprintf(osdk_g.service_name, sizeof osdk_g.service_name, "%.*s", (int)d->n,
                     r.a.p + d->u.off);
    }
    int rc = r.rc ? r.rc : out->err ? OCELOT_ENOMEM : 0;
    osdk_attrs_dispose(&r.l);
    osdk_arena_dispose(&r.a);
    return rc;
}
