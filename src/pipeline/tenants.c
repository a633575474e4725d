/*
 * tenants.c — see tenants.h. Workload: one lookup per export request and
 * per query (a linear scan of a few ids), rare creation.
 */
#include "pipeline/tenants.h"

#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

typedef struct {
    char id[OCL_TENANT_MAX_LEN + 1]; /* tenant id, NUL-terminated; "" = default */
    size_t id_len;                   /* strlen(id) */
    ocl_tracestore_t *ts;            /* its trace store */
} tenant_t;

struct ocl_tenants {
    char *data_dir;              /* owned copy */
    ocl_tracestore_cfg_t tmpl;   /* store configuration (dir replaced) */
    pthread_mutex_t mu;          /* serialises creation */
    size_t n;                    /* published entries (atomic, release/acquire) */
    tenant_t v[OCL_MAX_TENANTS]; /* entries; [0] is the default tenant */
};

int ocl_tenant_id_valid(ocl_str_t id)
{
    if (id.n > OCL_TENANT_MAX_LEN) return 0;
    if (ocl_str_eq_c(id, ".") || ocl_str_eq_c(id, "..")) return 0;
    for (size_t i = 0; i < id.n; i++) {
        unsigned char c = (unsigned char)id.p[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) continue;
        if (!strchr("!-_.*'()", c) || c == 0) return 0;
    }
    return 1;
}

/* Opens the store of `id` and publishes it; caller holds mu. */
static ocl_tracestore_t *add_locked(ocl_tenants_t *t, ocl_str_t id)
{
    size_t n = __atomic_load_n(&t->n, __ATOMIC_RELAXED);
    if (n == OCL_MAX_TENANTS) return NULL;
    char dir[PATH_MAX];
    if (id.n == 0)
        snprintf(dir, sizeof dir, "%s/traces", t->data_dir);
    else
        snprintf(dir, sizeof dir, "%s/tenants/%.*s/traces", t->data_dir, (int)id.n, id.p);
    if (ocl_mkdir_p(dir) != 0) {
        ocl_error("cannot create %s: %s", dir, strerror(errno));
        return NULL;
    }
    if (id.n) {
        /* Make the new directories durable before data depends on them. */
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s/tenants/%.*s", t->data_dir, (int)id.n, id.p);
        ocl_fsync_dir(parent);
        snprintf(parent, sizeof parent, "%s/tenants", t->data_dir);
        ocl_fsync_dir(parent);
        ocl_fsync_dir(t->data_dir);
    }
    ocl_tracestore_cfg_t cfg = t->tmpl;
    cfg.dir = dir;
    tenant_t *e = &t->v[n];
    if (ocl_tracestore_open(&cfg, &e->ts) != 0) {
        ocl_error("cannot open trace store %s", dir);
        return NULL;
    }
    memcpy(e->id, id.p ? id.p : "", id.n);
    e->id[id.n] = 0;
    e->id_len = id.n;
    __atomic_store_n(&t->n, n + 1, __ATOMIC_RELEASE);
    return e->ts;
}

static ocl_tracestore_t *find(ocl_tenants_t *t, ocl_str_t id)
{
    size_t n = __atomic_load_n(&t->n, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < n; i++)
        if (t->v[i].id_len == id.n && (id.n == 0 || memcmp(t->v[i].id, id.p, id.n) == 0))
            return t->v[i].ts;
    return NULL;
}

int ocl_tenants_open(const char *data_dir, const ocl_tracestore_cfg_t *tmpl, ocl_tenants_t **out)
{
    ocl_tenants_t *t = ocl_calloc(1, sizeof *t);
    t->data_dir = ocl_strndup(data_dir, strlen(data_dir));
    t->tmpl = *tmpl;
    pthread_mutex_init(&t->mu, NULL);
    if (!add_locked(t, OCL_STR_NULL)) goto error;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/tenants", data_dir);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            ocl_str_t id = ocl_str_c(de->d_name);
            /* "." and ".." fail validation; ids like ".x" are valid tenants. */
            if (id.n == 0 || !ocl_tenant_id_valid(id)) continue;
            if (!add_locked(t, id)) {
                ocl_warn("tenant %s: not opened (limit %d or error)", de->d_name, OCL_MAX_TENANTS);
            }
        }
        closedir(d);
    }
    *out = t;
    return 0;
error:
    ocl_tenants_close(t);
    return OCL_EIO;
}

void ocl_tenants_close(ocl_tenants_t *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n; i++)
        ocl_tracestore_close(t->v[i].ts);
    pthread_mutex_destroy(&t->mu);
    free(t->data_dir);
    free(t);
}

int ocl_tenants_get(ocl_tenants_t *t, ocl_str_t id, int create, ocl_tracestore_t **out)
{
    *out = NULL;
    if (!ocl_tenant_id_valid(id)) return OCL_EINVAL;
    ocl_tracestore_t *ts = find(t, id);
    if (!ts && !create) return OCL_ENOTFOUND;
    int rc = 0;
    if (!ts) {
        pthread_mutex_lock(&t->mu);
        ts = find(t, id);
        if (!ts) {
            if (__atomic_load_n(&t->n, __ATOMIC_RELAXED) == OCL_MAX_TENANTS)
                rc = OCL_ETOOBIG;
            else if (!(ts = add_locked(t, id)))
                rc = OCL_EIO;
        }
        pthread_mutex_unlock(&t->mu);
    }
    *out = ts;
    return rc;
}

size_t ocl_tenants_count(ocl_tenants_t *t)
{
    return __atomic_load_n(&t->n, __ATOMIC_ACQUIRE);
}

ocl_tracestore_t *ocl_tenants_at(ocl_tenants_t *t, size_t i)
{
    return t->v[i].ts;
}
