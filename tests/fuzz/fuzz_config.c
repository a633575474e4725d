/*
 * fuzz_config.c — libFuzzer target for the configuration file parser
 * (src/core/config.c, ocl_config_parse).
 *
 * Any input must either fail with a one-line message that starts with the
 * file name, or succeed; on success every setting's printed value must read
 * back (ocl_config_set) to an identical ocl_config_t, which is what
 * `ocelot check` promises. Seeds: tests/fuzz/corpus/config/.
 */
#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_config: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ocl_config_t cfg, back;
    char err[512], v[OCL_CONFIG_PATH_MAX];
    memset(err, 'x', sizeof err);
    ocl_config_defaults(&cfg);
    int rc = ocl_config_parse((const char *)data, size, "f.yaml", &cfg, err, sizeof err);
    if (rc != 0) {
        check(rc == OCL_EINVAL || rc == OCL_EUNSUPP || rc == OCL_ETOOBIG, "unexpected code");
        check(memchr(err, 0, sizeof err) != NULL, "error not terminated");
        check(!strncmp(err, "f.yaml:", 7), "error does not start with the name");
        check(strchr(err, '\n') == NULL, "error spans lines");
        return 0;
    }
    ocl_config_defaults(&back);
    for (size_t i = 0; i < ocl_config_count(); i++) {
        ocl_config_value(&cfg, i, v, sizeof v);
        check(ocl_config_set(&back, ocl_config_key(i), v) == 0, "printed value rejected");
    }
    check(memcmp(&cfg, &back, sizeof cfg) == 0, "printed values do not round-trip");
    return 0;
}
