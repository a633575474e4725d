/*
 * tenants.h — one trace store per tenant (X-Scope-OrgID), as Tempo keeps
 * tenants apart. The default tenant (no header) lives in
 * <data-dir>/traces/, tenant T in <data-dir>/tenants/T/traces/.
 *
 * Tenant ids follow Mimir/Loki/Tempo's rules: 1-150 bytes of
 * [A-Za-z0-9!-_.*'()], not "." or "..", so an id is safe as a directory
 * name. At most OCL_MAX_TENANTS stores exist (the default one included).
 *
 * Thread-safety: lookups are lock-free (entries are published with release
 * stores and never removed while open); creation takes a mutex.
 */
#ifndef OCL_TENANTS_H
#define OCL_TENANTS_H

#include "store/traces/tracestore.h"

#define OCL_MAX_TENANTS 256
#define OCL_TENANT_MAX_LEN 150

typedef struct ocl_tenants ocl_tenants_t;

/* Opens the default store and every tenant store found on disk; `tmpl` is
 * the configuration of each store (its dir is replaced). */
int ocl_tenants_open(const char *data_dir, const ocl_tracestore_cfg_t *tmpl, ocl_tenants_t **out);
void ocl_tenants_close(ocl_tenants_t *t);

/* 1 if `id` is a valid tenant id (the empty id is the default tenant). */
int ocl_tenant_id_valid(ocl_str_t id);

/* Finds (and with `create`, opens or creates) the store of tenant `id`
 * ("" = default). Returns 0 with *out set, OCL_EINVAL for an invalid id,
 * OCL_ENOTFOUND when it does not exist and `create` is 0, OCL_ETOOBIG at
 * the tenant limit, OCL_EIO when its store cannot be opened. */
int ocl_tenants_get(ocl_tenants_t *t, ocl_str_t id, int create, ocl_tracestore_t **out);

/* Iteration over the stores that exist now (index 0 is the default). */
size_t ocl_tenants_count(ocl_tenants_t *t);
ocl_tracestore_t *ocl_tenants_at(ocl_tenants_t *t, size_t i);

#endif
