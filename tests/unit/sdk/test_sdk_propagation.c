/*
 * test_sdk_propagation.c — W3C traceparent / tracestate / baggage
 * validation tables, inject/extract through carriers, the curl helper.
 * The expected answers are written from the W3C specifications.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "ocelot/ocelot.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define SID "00f067aa0ba902b7"

static void traceparent_table(void **st)
{
    (void)st;
    static const struct {
        const char *in;
        int ok;
    } t[] = {
        {"00-" TID "-" SID "-01", 1},
        {"00-" TID "-" SID "-00", 1},
        {"  00-" TID "-" SID "-01\t", 1}, /* OWS trimmed */
        {"00-" TID "-" SID "-0", 0},      /* short */
        {"00-" TID "-" SID "-01-", 0},    /* v00 must be exactly 55 */
        {"00-" TID "-" SID "-01-extra", 0},
        {"ff-" TID "-" SID "-01", 0},                 /* version ff */
        {"01-" TID "-" SID "-01", 1},                 /* higher version */
        {"01-" TID "-" SID "-01-what-the-future", 1}, /* higher version, extra fields */
        {"01-" TID "-" SID "-01what", 0},             /* extra without '-' */
        {"cc-" TID "-" SID "-01-x", 1},
        {"0g-" TID "-" SID "-01", 0},                          /* bad version hex */
        {"00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID "-01", 0}, /* upper case */
        {"00-" TID "-00F067AA0BA902B7-01", 0},
        {"00-" TID "-" SID "-0A", 0},
        {"00-00000000000000000000000000000000-" SID "-01", 0}, /* zero trace id */
        {"00-" TID "-0000000000000000-01", 0},                 /* zero parent id */
        {"00-4bf92f3577b34da6a3ce929d0e0e473-" SID "-01", 0},  /* 31 digits */
        {"00-4bf92f3577b34da6a3ce929d0e0e47366-" SID "-01", 0},
        {"00-" TID "-00f067aa0ba902b-01", 0},
        {"00-" TID "-" SID "-0x", 0},
        {"00_" TID "-" SID "-01", 0},
        {"00-" TID "_" SID "-01", 0},
        {"00-4bf92f3577b34da6a3ce929d0e0e473g-" SID "-01", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ocelot_span_context_t c;
        int rc = ocelot_traceparent_parse(t[i].in, strlen(t[i].in), &c);
        if ((rc == 0) != t[i].ok) fail_msg("traceparent case %zu (%s): rc %d", i, t[i].in, rc);
        if (rc == 0) {
            assert_true(ocelot_span_context_valid(&c));
            assert_int_equal(c.is_remote, 1);
        } else {
            assert_false(ocelot_span_context_valid(&c));
        }
    }
    ocelot_span_context_t c;
    assert_int_equal(ocelot_traceparent_parse("00-" TID "-" SID "-03", 55, &c), 0);
    assert_int_equal(c.flags, 1); /* unknown flag bits dropped */
    assert_int_equal(c.trace_id[0], 0x4b);
    assert_int_equal(c.trace_id[15], 0x36);
    assert_int_equal(c.span_id[7], 0xb7);
    char out[56];
    assert_int_equal(ocelot_traceparent_format(&c, out), 0);
    assert_string_equal(out, "00-" TID "-" SID "-01");
    memset(&c, 0, sizeof c);
    assert_int_equal(ocelot_traceparent_format(&c, out), OCELOT_EINVAL);
}

static void tracestate_table(void **st)
{
    (void)st;
    static const struct {
        const char *in;
        int members; /* -1 invalid */
    } t[] = {
        {"rojo=00f067aa0ba902b7", 1},
        {"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", 2},
        {"rojo=1 , congo=2", 2},
        {"rojo=1,,congo=2", 2}, /* empty member allowed */
        {" , rojo=1", 1},
        {"tenant@system=v", 1},
        {"0tenant@sys=v", 1},             /* tenant may start with a digit */
        {"tenant@0sys=v", -1},            /* system must start with lcalpha */
        {"tenant@systemistoolong=v", -1}, /* system max 14 */
        {"t@abcdefghijklmn=v", 1},        /* 14 chars ok */
        {"@sys=v", -1},
        {"tenant@=v", -1},
        {"Rojo=1", -1},  /* upper case key */
        {"1rojo=1", -1}, /* simple key starts with lcalpha */
        {"ro jo=1", -1},
        {"rojo=", -1},         /* empty value */
        {"rojo=a,b", -1},      /* member without '=' */
        {"rojo=a=b", -1},      /* '=' in value */
        {"rojo=1,rojo=2", -1}, /* duplicate key */
        {"rojo=val ue", 1},    /* inner space ok */
        {"rojo=\x7f", -1},
        {"a_b-c*d/e=1", 1},
        {"a+b=1", -1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int rc = ocelot_tracestate_validate(t[i].in, strlen(t[i].in));
        int want = t[i].members < 0 ? OCELOT_EINVAL : t[i].members;
        if (rc != want) fail_msg("tracestate case %zu (%s): got %d want %d", i, t[i].in, rc, want);
    }
    /* 32 members ok, 33 not */
    char buf[1024];
    size_t o = 0;
    for (int i = 0; i < 33; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%sk%d=v", i ? "," : "", i);
    assert_int_equal(ocelot_tracestate_validate(buf, o), OCELOT_EINVAL);
    char *last = strrchr(buf, ',');
    assert_int_equal(ocelot_tracestate_validate(buf, (size_t)(last - buf)), 32);
    /* key length limits: simple key 256 ok, 257 not; value 256 ok, 257 not */
    char k[300];
    memset(k, 'a', 257);
    k[256] = '=';
    k[257] = 'v';
    assert_int_equal(ocelot_tracestate_validate(k, 258), 1);
    k[256] = 'a';
    k[257] = '=';
    k[258] = 'v';
    assert_int_equal(ocelot_tracestate_validate(k, 259), OCELOT_EINVAL);
    char v[300] = "k=";
    memset(v + 2, 'x', 256);
    assert_int_equal(ocelot_tracestate_validate(v, 258), 1);
    v[258] = 'x';
    assert_int_equal(ocelot_tracestate_validate(v, 259), OCELOT_EINVAL);
    /* every allowed character: key [a-z0-9_-*\/] (also as tenant@system),
     * value 0x20-0x7e except ',' and '=' (a leading space is allowed) */
    char all[400];
    size_t o2 = 0;
    for (int ch = 'a'; ch <= 'z'; ch++)
        all[o2++] = (char)ch;
    memcpy(all + o2, "0123456789_-*/", 14);
    o2 += 14;
    size_t keylen = o2;
    all[o2++] = '=';
    for (int ch = 0x20; ch <= 0x7e; ch++)
        if (ch != ',' && ch != '=') all[o2++] = (char)ch;
    assert_int_equal(ocelot_tracestate_validate(all, o2), 1);
    char allv[400];
    memcpy(allv, all, keylen);
    memcpy(allv + keylen, "@a-z0-9_-*/", 11);
    memcpy(allv + keylen + 11, all + keylen, o2 - keylen);
    assert_int_equal(ocelot_tracestate_validate(allv, o2 + 11), 1);
    assert_int_equal(ocelot_tracestate_validate("foo=,bar=3", 10), OCELOT_EINVAL);
    assert_int_equal(ocelot_tracestate_validate("foo@@bar=1", 10), OCELOT_EINVAL);
    assert_int_equal(ocelot_tracestate_validate("foo@bar@baz=1", 13), OCELOT_EINVAL);
    assert_int_equal(ocelot_tracestate_validate("foo=1 \t , \t bar=2", 17), 2);
    assert_int_equal(ocelot_tracestate_validate("foo=1,", 6), 1); /* joined with an empty header */
    /* tenant 241 ok, 242 not */
    char mt[300];
    memset(mt, 't', 242);
    memcpy(mt + 241, "@s=v", 4);
    assert_int_equal(ocelot_tracestate_validate(mt, 245), 1);
    memset(mt, 't', 242);
    memcpy(mt + 242, "@s=v", 4);
    assert_int_equal(ocelot_tracestate_validate(mt, 246), OCELOT_EINVAL);
}

static void baggage_table(void **st)
{
    (void)st;
    static const struct {
        const char *in;
        int ok;
        int n;
    } t[] = {
        {"userId=alice", 1, 1},
        {"userId=alice,serverNode=DF%2028,isProduction=false", 1, 3},
        {" a = 1 , b = 2 ", 1, 2},
        {"a=1;p1;p2=x", 1, 1},
        {"a=1;p1=", 1, 1},
        {"a=1;=x", 0, 0},  /* property without key */
        {"a", 0, 0},       /* no '=' */
        {"=1", 0, 0},      /* empty key */
        {"a b=1", 0, 0},   /* space in key */
        {"a=1 2", 0, 0},   /* space in value */
        {"a=\"q\"", 0, 0}, /* DQUOTE not a baggage octet */
        {"a=x\\y", 0, 0},  /* backslash */
        {"a=%zz", 0, 0},   /* bad percent-encoding */
        {"a=%4", 0, 0},
        {"a=", 1, 1}, /* empty value is allowed */
        {"a=1,,b=2", 1, 2},
        {"k(1)=v", 0, 0}, /* '(' not a tchar */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ocelot_baggage_t *b = ocelot_baggage_create();
        assert_non_null(b);
        int rc = ocelot_baggage_parse(b, t[i].in, strlen(t[i].in));
        if ((rc == 0) != t[i].ok) fail_msg("baggage case %zu (%s): rc %d", i, t[i].in, rc);
        if (rc == 0 && (int)ocelot_baggage_count(b) != t[i].n)
            fail_msg("baggage case %zu: %zu members", i, ocelot_baggage_count(b));
        if (rc != 0) assert_int_equal(ocelot_baggage_count(b), 0); /* unchanged */
        ocelot_baggage_destroy(b);
    }
    ocelot_baggage_t *b = ocelot_baggage_create();
    const char *in = "serverNode=DF%2028,a=1;prop=x";
    assert_int_equal(ocelot_baggage_parse(b, in, strlen(in)), 0);
    assert_string_equal(ocelot_baggage_get(b, "serverNode"), "DF 28");
    const char *k, *v, *p;
    assert_int_equal(ocelot_baggage_entry(b, 1, &k, &v, &p), 0);
    assert_string_equal(k, "a");
    assert_string_equal(p, "prop=x");
    assert_int_equal(ocelot_baggage_set(b, "msg", "50% off, \"now\"", NULL), 0);
    char out[256];
    int n = ocelot_baggage_format(b, out, sizeof out);
    assert_true(n > 0);
    assert_string_equal(out, "serverNode=DF%2028,a=1;prop=x,msg=50%25%20off%2C%20%22now%22");
    /* round trip */
    ocelot_baggage_t *b2 = ocelot_baggage_create();
    assert_int_equal(ocelot_baggage_parse(b2, out, (size_t)n), 0);
    assert_string_equal(ocelot_baggage_get(b2, "msg"), "50% off, \"now\"");
    ocelot_baggage_destroy(b2);
    assert_int_equal(ocelot_baggage_set(b, "bad key", "v", NULL), OCELOT_EINVAL);
    assert_int_equal(ocelot_baggage_remove(b, "a"), 0);
    assert_null(ocelot_baggage_get(b, "a"));
    assert_int_equal(ocelot_baggage_format(b, out, 5), OCELOT_EFULL);
    ocelot_baggage_destroy(b);
}

static void baggage_limits(void **st)
{
    (void)st;
    /* 180 members ok, 181 not */
    char *buf = malloc(20000);
    size_t o = 0;
    for (int i = 0; i < 181; i++)
        o += (size_t)sprintf(buf + o, "%sk%d=v", i ? "," : "", i);
    ocelot_baggage_t *b = ocelot_baggage_create();
    assert_int_equal(ocelot_baggage_parse(b, buf, o), OCELOT_EINVAL);
    char *last = strrchr(buf, ',');
    assert_int_equal(ocelot_baggage_parse(b, buf, (size_t)(last - buf)), 0);
    assert_int_equal(ocelot_baggage_count(b), 180);
    assert_int_equal(ocelot_baggage_set(b, "one_more", "v", NULL), OCELOT_EFULL);
    ocelot_baggage_destroy(b);
    /* 8192 bytes ok, 8193 not */
    memcpy(buf, "k=", 2);
    memset(buf + 2, 'x', 8191);
    b = ocelot_baggage_create();
    assert_int_equal(ocelot_baggage_parse(b, buf, 8192), 0);
    assert_int_equal(ocelot_baggage_parse(b, buf, 8193), OCELOT_EINVAL);
    ocelot_baggage_destroy(b);
    /* set beyond 8192 encoded bytes */
    b = ocelot_baggage_create();
    buf[8000] = 0;
    assert_int_equal(ocelot_baggage_set(b, "a", buf + 2, NULL), 0);
    assert_int_equal(ocelot_baggage_set(b, "b", buf + 2, NULL), OCELOT_EFULL);
    ocelot_baggage_destroy(b);
    free(buf);
}

/* carrier: a tiny header map */
typedef struct {
    char k[8][32];
    char v[8][9000];
    int n;
} hdrs_t;

static const char *hget(void *c, const char *key, size_t *len)
{
    hdrs_t *h = c;
    for (int i = 0; i < h->n; i++)
        if (!strcmp(h->k[i], key)) {
            *len = strlen(h->v[i]);
            return h->v[i];
        }
    return NULL;
}

static int hset(void *c, const char *key, const char *value)
{
    hdrs_t *h = c;
    if (h->n == 8) return -1;
    snprintf(h->k[h->n], 32, "%s", key);
    snprintf(h->v[h->n], 9000, "%s", value);
    h->n++;
    return 0;
}

static void inject_extract(void **st)
{
    (void)st;
    static hdrs_t in, out;
    memset(&in, 0, sizeof in);
    hset(&in, "traceparent", "00-" TID "-" SID "-01");
    hset(&in, "tracestate", "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE");
    hset(&in, "baggage", "user=alice");
    ocelot_span_context_t c;
    ocelot_baggage_t *bag = NULL;
    assert_int_equal(ocelot_extract(hget, &in, &c, &bag), 0);
    assert_string_equal(c.trace_state, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    assert_non_null(bag);
    assert_string_equal(ocelot_baggage_get(bag, "user"), "alice");
    memset(&out, 0, sizeof out);
    assert_int_equal(ocelot_inject(&c, bag, hset, &out), 0);
    assert_int_equal(out.n, 3);
    assert_string_equal(out.v[0], "00-" TID "-" SID "-01");
    assert_string_equal(out.v[1], "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    assert_string_equal(out.v[2], "user=alice");
    ocelot_baggage_destroy(bag);

    /* invalid tracestate is dropped, traceparent kept */
    memset(&in, 0, sizeof in);
    hset(&in, "traceparent", "00-" TID "-" SID "-00");
    hset(&in, "tracestate", "rojo=1,rojo=2");
    assert_int_equal(ocelot_extract(hget, &in, &c, NULL), 0);
    assert_int_equal(c.trace_state_len, 0);
    assert_int_equal(c.flags, 0);
    /* invalid traceparent: nothing, tracestate ignored */
    memset(&in, 0, sizeof in);
    hset(&in, "traceparent", "ff-" TID "-" SID "-01");
    hset(&in, "tracestate", "rojo=1");
    assert_int_equal(ocelot_extract(hget, &in, &c, NULL), OCELOT_EINVAL);
    assert_false(ocelot_span_context_valid(&c));
    assert_int_equal(c.trace_state_len, 0);
    /* tracestate over 512 chars: trailing members dropped */
    memset(&in, 0, sizeof in);
    hset(&in, "traceparent", "00-" TID "-" SID "-01");
    char ts[2000];
    size_t o = 0;
    for (int i = 0; i < 30; i++)
        o += (size_t)sprintf(ts + o, "%sk%02d=%s", i ? "," : "", i,
                             "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
    hset(&in, "tracestate", ts);
    assert_int_equal(ocelot_extract(hget, &in, &c, NULL), 0);
    assert_true(c.trace_state_len <= 512 && c.trace_state_len > 400);
    assert_int_equal(ocelot_tracestate_validate(c.trace_state, c.trace_state_len), 11);
}

static void curl_helper(void **st)
{
    (void)st;
    ocelot_span_context_t c;
    assert_int_equal(ocelot_traceparent_parse("00-" TID "-" SID "-01", 55, &c), 0);
    struct curl_slist *l = ocelot_curl_inject(NULL, &c, NULL);
    assert_non_null(l);
    assert_string_equal(l->data, "traceparent: 00-" TID "-" SID "-01");
    assert_null(l->next);
    curl_slist_free_all(l);
    memset(&c, 0, sizeof c);
    assert_null(ocelot_curl_inject(NULL, &c, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(traceparent_table), cmocka_unit_test(tracestate_table),
        cmocka_unit_test(baggage_table),     cmocka_unit_test(baggage_limits),
        cmocka_unit_test(inject_extract),    cmocka_unit_test(curl_helper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
