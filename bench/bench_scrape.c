/*
 * bench_scrape.c — cost of one scrape after the fetch: parsing a text
 * 0.0.4 exposition (ocl_prom_text_parse) and turning it into the batch
 * that is stored (ocl_scrape_target_build: target labels, hash set of
 * series, staleness check against the previous scrape).
 * The exposition is node-exporter-like: 100,000 sample lines in families
 * of 100 with HELP/TYPE, 3-4 labels each, ~100 bytes a line, float values,
 * a histogram family every 10th. Prints ns/sample and MB/s for both. Times
 * are thread CPU time (the bench machine is shared). Not a test: run
 * `cmake --build build/release --target bench_scrape && build/release/bench_scrape [rounds]`.
 */
#include "receiver/prom_scrape.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NLINES 100000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void build_exposition(ocl_buf_t *b)
{
    char l[256];
    for (int i = 0; i < NLINES; i++) {
        int fam = i / 100, n;
        if (i % 100 == 0) {
            const char *type = fam % 10 == 0 ? "histogram" : "counter";
            n = snprintf(l, sizeof l,
                         "# HELP fam%d_seconds Family %d of the benchmark.\n"
                         "# TYPE fam%d_seconds %s\n",
                         fam, fam, fam, type);
            ocl_buf_append(b, l, (size_t)n);
        }
        if (fam % 10 == 0)
            n = snprintf(l, sizeof l,
                         "fam%d_seconds_bucket{handler=\"/api/v1/items\",method=\"GET\","
                         "code=\"200\",le=\"%g\"} %d\n",
                         fam, 0.001 * (i % 100 + 1), i);
        else
            n = snprintf(l, sizeof l,
                         "fam%d_seconds{handler=\"/api/v%d/items\",method=\"GET\",code=\"%d\","
                         "pod=\"pod-%d\"} %d.25\n",
                         fam, i % 7, 200 + i % 5, i % 100, i);
        ocl_buf_append(b, l, (size_t)n);
    }
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 10;
    if (rounds < 1) rounds = 1;
    ocl_buf_t body;
    ocl_buf_init(&body);
    build_exposition(&body);
    ocl_arena_t a;
    ocl_arena_init(&a, 1 << 20);
    ocl_prom_batch_t b;
    char err[256];
    double t0 = now();
    for (int r = 0; r < rounds; r++) {
        ocl_arena_reset(&a);
        if (ocl_prom_text_parse((const char *)body.p, body.len, NULL, &a, &b, err, sizeof err)) {
            fprintf(stderr, "parse: %s\n", err);
            return 1;
        }
    }
    double parse = (now() - t0) / rounds;

    static const ocl_label_t st[] = {{{"env", 3}, {"prod", 4}}};
    ocl_scrape_target_cfg_t tc = {.job = "node",
                                  .instance = "10.0.0.1:9100",
                                  .labels = st,
                                  .n_labels = 1,
                                  .honor_timestamps = true};
    ocl_scrape_target_t *t = ocl_scrape_target_create(&tc);
    t0 = now();
    for (int r = 0; r < rounds; r++) {
        ocl_buf_t *in = ocl_scrape_target_body(t); /* as the fetch does: no copy */
        ocl_buf_append(in, body.p, body.len);
        if (ocl_scrape_target_build(t, NULL, NULL, (const char *)in->p, in->len, r * 15000, 0.1, &b,
                                    err, sizeof err)) {
            fprintf(stderr, "build: %s\n", err);
            return 1;
        }
    }
    double build = (now() - t0) / rounds;
    printf("exposition: %d samples, %.1f MB\n", NLINES, body.len / 1e6);
    printf("parse:            %7.1f ns/sample  %6.0f MB/s\n", parse * 1e9 / NLINES,
           body.len / parse / 1e6);
    printf("scrape to batch:  %7.1f ns/sample  %6.0f MB/s  (parse + target labels + staleness)\n",
           build * 1e9 / NLINES, body.len / build / 1e6);
    ocl_scrape_target_destroy(t);
    ocl_arena_dispose(&a);
    ocl_buf_dispose(&body);
    return 0;
}
