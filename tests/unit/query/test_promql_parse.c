/*
 * test_promql_parse.c — PromQL lexer, parser, type check and printer:
 * valid queries with their printed form (Prometheus's format_query) and
 * result types, invalid queries with Prometheus's exact error messages and
 * positions, operator precedence and associativity, number and duration
 * forms, quoted UTF-8 names, nesting limits and round-trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "query/promql/promql.h"

static char *fmt_query(const char *q, ocl_pql_type_t *type)
{
    ocl_pql_expr_t *e = NULL;
    char err[512];
    int rc = ocl_pql_parse(q, strlen(q), &e, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "unexpected parse failure for %s: %s\n", q, err);
        return NULL;
    }
    if (type) *type = e->root->type;
    ocl_buf_t b;
    ocl_buf_init(&b);
    ocl_pql_format(e->root, &b);
    ocl_buf_putc(&b, 0);
    ocl_pql_expr_free(e);
    return (char *)b.p;
}

static const struct {
    const char *in, *out;
    ocl_pql_type_t type;
} valid[] = {
    {"sum by (job) (rate(http_requests_total{job=\"api\"}[5m]))",
     "sum by (job) (rate(http_requests_total{job=\"api\"}[5m]))", OCL_PQL_VECTOR},
    {"sum(rate(x[5m])) by (job)", "sum by (job) (rate(x[5m]))", OCL_PQL_VECTOR},
    {"SUM(foo) BY (job)", "sum by (job) (foo)", OCL_PQL_VECTOR},
    {"sum without(a,b,)(foo)", "sum without (a, b) (foo)", OCL_PQL_VECTOR},
    {"sum without()(foo)", "sum without () (foo)", OCL_PQL_VECTOR},
    {"sum by () (foo)", "sum(foo)", OCL_PQL_VECTOR},
    {"avg by (\"a.b\", c) (x)", "avg by (\"a.b\", c) (x)", OCL_PQL_VECTOR},
    {"sum by (sum, and, offset) (x)", "sum by (sum, and, offset) (x)", OCL_PQL_VECTOR},
    {"sum(sum)", "sum(sum)", OCL_PQL_VECTOR},
    {"topk(3, foo)", "topk(3, foo)", OCL_PQL_VECTOR},
    {"bottomk by (a) (3, foo)", "bottomk by (a) (3, foo)", OCL_PQL_VECTOR},
    {"quantile(0.9, foo)", "quantile(0.9, foo)", OCL_PQL_VECTOR},
    {"count_values(\"v\", foo)", "count_values(\"v\", foo)", OCL_PQL_VECTOR},
    {"limitk(2, foo)", "limitk(2, foo)", OCL_PQL_VECTOR},
    {"limit_ratio(0.5, foo)", "limit_ratio(0.5, foo)", OCL_PQL_VECTOR},
    {"group(foo)", "group(foo)", OCL_PQL_VECTOR},
    {"stddev(foo) + stdvar(foo)", "stddev(foo) + stdvar(foo)", OCL_PQL_VECTOR},
    {"a + on(x) group_left(y) b", "a + on (x) group_left (y) b", OCL_PQL_VECTOR},
    {"a * ignoring(x, y) group_right b", "a * ignoring (x, y) group_right () b", OCL_PQL_VECTOR},
    {"a / on() b", "a / on () b", OCL_PQL_VECTOR},
    {"a and ignoring() b", "a and b", OCL_PQL_VECTOR},
    {"a unless on(x) b", "a unless on (x) b", OCL_PQL_VECTOR},
    {"a == bool on(x) b", "a == bool on (x) b", OCL_PQL_VECTOR},
    {"foo offset 5m", "foo offset 5m", OCL_PQL_VECTOR},
    {"foo offset -5m", "foo offset -5m", OCL_PQL_VECTOR},
    {"foo offset 90m", "foo offset 1h30m", OCL_PQL_VECTOR},
    {"foo OFFSET 1.5", "foo offset 1s500ms", OCL_PQL_VECTOR},
    {"foo @ 1000", "foo @ 1000.000", OCL_PQL_VECTOR},
    {"foo @ -1.5", "foo @ -1.500", OCL_PQL_VECTOR},
    {"foo @ start()", "foo @ start()", OCL_PQL_VECTOR},
    {"foo offset 1m @ end()", "foo @ end() offset 1m", OCL_PQL_VECTOR},
    {"rate(foo[5m] @ 100 offset 1m)", "rate(foo[5m] @ 100.000 offset 1m)", OCL_PQL_VECTOR},
    {"foo[5m]", "foo[5m]", OCL_PQL_MATRIX},
    {"foo[1800]", "foo[30m]", OCL_PQL_MATRIX},
    {"foo[1y2w3d4h5m6s7ms]", "foo[382d4h5m6s7ms]", OCL_PQL_MATRIX},
    {"foo[14d]", "foo[2w]", OCL_PQL_MATRIX},
    {"foo[365d]", "foo[1y]", OCL_PQL_MATRIX},
    {"foo[5m:]", "foo[5m:]", OCL_PQL_MATRIX},
    {"foo[5m:1m]", "foo[5m:1m]", OCL_PQL_MATRIX},
    {"rate(foo[5m])[30m:1m] offset 1m", "rate(foo[5m])[30m:1m] offset 1m", OCL_PQL_MATRIX},
    {"(foo + bar)[5m:] @ 10", "(foo + bar)[5m:] @ 10.000", OCL_PQL_MATRIX},
    {"x[5m+1m]", "x[5m + 1m]", OCL_PQL_MATRIX},
    {"x[2m*(10+5)]", "x[2m * (10 + 5)]", OCL_PQL_MATRIX},
    {"x[30m1s-30m1s % 1m]", "x[30m1s - 30m1s % 1m]", OCL_PQL_MATRIX},
    {"x[-5m+35m]", "x[-5m + 35m]", OCL_PQL_MATRIX},
    {"x[((1h))]", "x[(1h)]", OCL_PQL_MATRIX},
    {"x[(2m)*(3)]", "x[(2m) * (3)]", OCL_PQL_MATRIX},
    {"x[step()]", "x[step()]", OCL_PQL_MATRIX},
    {"x[STEP()+1ms:range()] offset -step()", "x[step() + 1ms:range()] offset -step()",
     OCL_PQL_MATRIX},
    {"x offset min_of(step(), 1s)+8000", "x offset min_of(step(), 1s) + 8000", OCL_PQL_VECTOR},
    {"x offset -(min_of(step(), 2s)-5)", "x offset -(min_of(step(), 2s) - 5)", OCL_PQL_VECTOR},
    {"x[max(range(),5s)]", "x[max_of(range(), 5s)]", OCL_PQL_MATRIX},
    {"foo @ 1m", "foo @ 60.000", OCL_PQL_VECTOR},
    {"x[min_of(1h, 5m):max_of(1s, 2s)]", "x[min_of(1h, 5m):max_of(1s, 2s)]", OCL_PQL_MATRIX},
    {"x offset (100 + 2)", "x offset (100 + 2)", OCL_PQL_VECTOR},
    {"x offset (5)", "x offset (5)", OCL_PQL_VECTOR},
    {"x offset 2 ^ 2", "x offset 2s ^ 2", OCL_PQL_VECTOR},
    {"x offset -(20*(((((8 - 2) / 3) * 7s) % 4) + 8000ms))",
     "x offset -(20 * (((((8 - 2) / 3) * 7s) % 4) + 8s))", OCL_PQL_VECTOR},
    {"1", "1", OCL_PQL_SCALAR},
    {"1e3", "1000", OCL_PQL_SCALAR},
    {"1E-3", "0.001", OCL_PQL_SCALAR},
    {"0x1f", "31", OCL_PQL_SCALAR},
    {"0X1F", "31", OCL_PQL_SCALAR},
    {"010", "8", OCL_PQL_SCALAR},
    {"09", "9", OCL_PQL_SCALAR},
    {".5", "0.5", OCL_PQL_SCALAR},
    {"5.", "5", OCL_PQL_SCALAR},
    {"1_000", "1000", OCL_PQL_SCALAR},
    {"1.5e-7", "0.00000015", OCL_PQL_SCALAR},
    {"1e21", "1000000000000000000000", OCL_PQL_SCALAR},
    {"0.1", "0.1", OCL_PQL_SCALAR},
    {"123456789.125", "123456789.125", OCL_PQL_SCALAR},
    {"Inf", "+Inf", OCL_PQL_SCALAR},
    {"+inf", "+Inf", OCL_PQL_SCALAR},
    {"-Inf", "-Inf", OCL_PQL_SCALAR},
    {"NaN", "NaN", OCL_PQL_SCALAR},
    {"Inf ^ 2", "Inf ^ 2", OCL_PQL_SCALAR},
    {"1 - Inf", "1 - +Inf", OCL_PQL_SCALAR},
    {"1e-400", "0", OCL_PQL_SCALAR},
    {"- 1", "-1", OCL_PQL_SCALAR},
    {"-(1)", "-(1)", OCL_PQL_SCALAR},
    {"+foo", "+foo", OCL_PQL_VECTOR},
    {"5m", "5m", OCL_PQL_SCALAR},
    {"-5m", "-5m", OCL_PQL_SCALAR},
    {"time() - 1h", "time() - 1h", OCL_PQL_SCALAR},
    {"\"a\\nb\"", "\"a\\nb\"", OCL_PQL_STRING},
    {"'it\\'s \"q\"'", "\"it's \\\"q\\\"\"", OCL_PQL_STRING},
    {"`a\\b`", "\"a\\\\b\"", OCL_PQL_STRING},
    {"\"\\u00e9\\x41\\101\"",
     "\"\xc3\xa9"
     "AA\"",
     OCL_PQL_STRING},
    {"# comment\nfoo # trailing", "foo", OCL_PQL_VECTOR},
    {"foo{a=\"b\",c=~\"d\",e!=\"f\",g!~\"h\",}", "foo{a=\"b\",c=~\"d\",e!=\"f\",g!~\"h\"}",
     OCL_PQL_VECTOR},
    {"foo{c=\"1\", a=\"2\"}", "foo{a=\"2\",c=\"1\"}", OCL_PQL_VECTOR},
    {"{\"metric.name\"}", "{__name__=\"metric.name\"}", OCL_PQL_VECTOR},
    {"{\"foo.bar\", \"a.b\"=\"x\"}", "{\"a.b\"=\"x\",__name__=\"foo.bar\"}", OCL_PQL_VECTOR},
    {"{__name__=~\"a|b\"}", "{__name__=~\"a|b\"}", OCL_PQL_VECTOR},
    {"foo:bar:rate5m", "foo:bar:rate5m", OCL_PQL_VECTOR},
    {"{job=\"\xc3\xa9t\xc3\xa9\"}", "{job=\"\xc3\xa9t\xc3\xa9\"}", OCL_PQL_VECTOR},
    {"label_join(foo, \"dst\", \",\", \"a\", \"b\")",
     "label_join(foo, \"dst\", \",\", \"a\", \"b\")", OCL_PQL_VECTOR},
    {"label_join(foo, \"dst\", \",\")", "label_join(foo, \"dst\", \",\")", OCL_PQL_VECTOR},
    {"round(foo)", "round(foo)", OCL_PQL_VECTOR},
    {"hour()", "hour()", OCL_PQL_VECTOR},
    {"histogram_quantile(0.9, rate(b[5m]))", "histogram_quantile(0.9, rate(b[5m]))",
     OCL_PQL_VECTOR},
    {"time()", "time()", OCL_PQL_SCALAR},
    {"min_of(3, max_of(1, 2))", "min_of(3, max_of(1, 2))", OCL_PQL_SCALAR},
    {"start_timestamp(series)", "start_timestamp(series)", OCL_PQL_VECTOR},
    {"scalar(foo)", "scalar(foo)", OCL_PQL_SCALAR},
    {"vector(1)", "vector(1)", OCL_PQL_VECTOR},
    {"1 == bool 1", "1 == bool 1", OCL_PQL_SCALAR},
    {"foo > 1", "foo > 1", OCL_PQL_VECTOR},
    {"1 atan2 foo", "1 atan2 foo", OCL_PQL_VECTOR},
    {"offset", "offset", OCL_PQL_VECTOR},
    {"by{a=\"b\"}", "by{a=\"b\"}", OCL_PQL_VECTOR},
    {"foo and on(by) bar", "foo and on (by) bar", OCL_PQL_VECTOR},
    {"((foo))", "((foo))", OCL_PQL_VECTOR},
    {"increase(metric[1m] anchored)", "increase(metric[1m] anchored)", OCL_PQL_VECTOR},
    {"rate(metric[1m] smoothed offset 1m)", "rate(metric[1m] smoothed offset 1m)", OCL_PQL_VECTOR},
    {"metric @ 10 smoothed", "metric @ 10.000 smoothed", OCL_PQL_VECTOR},
    {"a + fill(0) b", "a + fill (0) b", OCL_PQL_VECTOR},
    {"a + fill_left(5) fill_right(-Inf) b", "a + fill_left (5) fill_right (-Inf) b",
     OCL_PQL_VECTOR},
    {"a + fill(1e6) b", "a + fill (1e+06) b", OCL_PQL_VECTOR},
    {"a * on(status) group_left fill_right(0.5) b",
     "a * on (status) group_left () fill_right (0.5) b", OCL_PQL_VECTOR},
    {"sum by (inf, NaN) (x)", "sum by (inf, NaN) (x)", OCL_PQL_VECTOR},
    {"-foo offset 5m", "-foo offset 5m", OCL_PQL_VECTOR},
};

static void test_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        ocl_pql_type_t t = OCL_PQL_NONE;
        char *s = fmt_query(valid[i].in, &t);
        if (!s || strcmp(s, valid[i].out) != 0 || t != valid[i].type) {
            fprintf(stderr, "input %s\n  got  %s (%s)\n  want %s (%s)\n", valid[i].in,
                    s ? s : "(fail)", ocl_pql_type_str(t), valid[i].out,
                    ocl_pql_type_str(valid[i].type));
            fail();
        }
        /* the printed form parses and prints identically */
        char *s2 = fmt_query(s, NULL);
        assert_non_null(s2);
        assert_string_equal(s, s2);
        free(s);
        free(s2);
    }
}

static const struct {
    const char *in, *err;
} invalid[] = {
    {"1+", "1:3: parse error: unexpected end of input"},
    {"(", "1:2: parse error: unclosed left parenthesis"},
    {")", "1:1: parse error: unexpected right parenthesis ')'"},
    {"foo]", "1:4: parse error: unexpected right bracket ']'"},
    {"", "unknown position: parse error: no expression found in input"},
    {"  # nothing", "1:1: parse error: no expression found in input"},
    {"1 and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
    {"foo or 1", "1:1: parse error: set operator \"or\" not allowed in binary scalar expression"},
    {"1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"},
    {"1 !~ 1", "1:3: parse error: unexpected character after '!': '~'"},
    {"1 =~ 1", "1:3: parse error: unexpected character after '=': '~'"},
    {"-\"string\"", "1:1: parse error: unary expression only allowed on expressions of type scalar "
                    "or instant vector, got \"string\""},
    {"-test[5m]", "1:1: parse error: unary expression only allowed on expressions of type scalar "
                  "or instant vector, got \"range vector\""},
    {"*test", "1:1: parse error: unexpected <op:*>"},
    {"1 offset 1d", "1:1: parse error: offset modifier must be preceded by an instant vector "
                    "selector or range vector selector or a subquery"},
    {"sum(foo) offset 5m", "1:1: parse error: offset modifier must be preceded by an instant "
                           "vector selector or range vector selector or a subquery"},
    {"foo offset 1s offset 2s", "1:1: parse error: offset may not be set multiple times"},
    {"foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"},
    {"a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>"},
    {"a + group_left b", "1:5: parse error: unexpected <group_left>"},
    {"foo and on(bar) group_left(baz) bar",
     "1:1: parse error: no grouping allowed for \"and\" operation"},
    {"foo unless on(bar) group_right(baz) bar",
     "1:1: parse error: no grouping allowed for \"unless\" operation"},
    {"http_requests{group=\"production\"} + on(instance) group_left(job,instance) "
     "cpu_count{type=\"smp\"}",
     "1:35: parse error: label \"instance\" must not occur in ON and GROUP clause at once"},
    {"foo + bool bar", "1:5: parse error: bool modifier can only be used on comparison operators"},
    {"foo + bool 10", "1:5: parse error: bool modifier can only be used on comparison operators"},
    {"foo and bool 10", "1:5: parse error: bool modifier can only be used on comparison operators"},
    {"foo == on(bar) 1", "1:1: parse error: vector matching only allowed between instant vectors"},
    {"{", "1:2: parse error: unexpected end of input inside braces"},
    {"}", "1:1: parse error: unexpected character: '}'"},
    {"some{", "1:6: parse error: unexpected end of input inside braces"},
    {"some_metric{a=b}",
     "1:15: parse error: unexpected identifier \"b\" in label matching, expected string"},
    {"some_metric{a:b=\"b\"}", "1:14: parse error: unexpected character inside braces: ':'"},
    {"foo{a*\"b\"}", "1:6: parse error: unexpected character inside braces: '*'"},
    {"foo{a>=\"b\"}", "1:6: parse error: unexpected character inside braces: '>'"},
    {"some_metric{a=\"\xff\"}", "1:15: parse error: invalid UTF-8 rune"},
    {"foo{gibberish}",
     "1:14: parse error: unexpected \"}\" in label matching, expected label matching operator"},
    {"foo{1}", "1:5: parse error: unexpected character inside braces: '1'"},
    {"{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x=\"\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x=~\".*\"}",
     "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x!~\".+\"}",
     "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x!=\"a\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"foo{__name__=\"bar\"}",
     "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\""},
    {"foo{__name__= =}", "1:15: parse error: unexpected \"=\" in label matching, expected string"},
    {"foo{,}",
     "1:5: parse error: unexpected \",\" in label matching, expected identifier or \"}\""},
    {"foo{__name__ == \"bar\"}",
     "1:15: parse error: unexpected \"=\" in label matching, expected string"},
    {"foo{__name__=\"bar\" lol}",
     "1:20: parse error: unexpected identifier \"lol\" in label matching, expected \",\" or \"}\""},
    {"foo[5mm]", "1:5: parse error: bad number or duration syntax: \"5mm\""},
    {"foo[5m:1m1]", "1:8: parse error: bad number or duration syntax: \"1m1\""},
    {"foo[5m1h]", "1:5: parse error: not a valid duration string: \"5m1h\""},
    {"foo[5m1m]", "1:5: parse error: not a valid duration string: \"5m1m\""},
    {"foo[\"5m\"]", "1:5: parse error: unexpected character in duration expression: '\"'"},
    {"foo[5m", "1:7: parse error: unexpected end of input in duration expression"},
    {"foo{bar=\"baz\"}[", "1:16: parse error: unexpected end of input in duration expression"},
    {"foo[]", "1:5: parse error: unexpected \"]\" in subquery or range selector, expected number, "
              "duration, step(), or range()"},
    {"foo[step]", "1:9: parse error: unexpected \"]\" in subquery or range selector, expected "
                  "number, duration, step(), or range()"},
    {"foo[0m]", "1:5: parse error: duration must be greater than 0"},
    {"foo[-1]", "1:5: parse error: duration must be greater than 0"},
    {"foo[5y1hs]", "1:5: parse error: unknown unit \"hs\" in duration \"5y1hs\""},
    {"foo[5m1]", "1:5: parse error: bad number or duration syntax: \"5m1\""},
    {"foo[step()/0d]", "1:11: parse error: division by zero"},
    {"foo[5s%0d]", "1:7: parse error: modulo by zero"},
    {"foo offset (4d/0)", "1:15: parse error: division by zero"},
    {"foo offset 9.5e10", "1:12: parse error: duration out of range"},
    {"foo[9.5e10]", "1:5: parse error: duration out of range"},
    {"sum some_metric by (test)", "1:5: parse error: unexpected identifier \"some_metric\""},
    {"MIN keep_common (some_metric)", "1:5: parse error: unexpected identifier \"keep_common\""},
    {"sum () by (test)", "1:1: parse error: no arguments for aggregate expression provided"},
    {"test[5d] OFFSET 10s [10m:5s]",
     "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"},
    {"rate(food[1m])[1h] offset 1h", "1:15: parse error: ranges only allowed for vector selectors"},
    {"foo{\"a\"=}", "1:9: parse error: unexpected \"}\" in label matching, expected string"},
    {"\"\\", "1:1: parse error: escape sequence not terminated"},
    {"\"\\x.\"", "1:1: parse error: illegal character U+002E '.' in escape sequence"},
    {"`\\``", "1:4: parse error: unterminated raw string"},
    {"info(http_request_counter_total{namespace=\"zzz\"}, {foo=\"bar\"} == 1)",
     "1:51: parse error: expected label selectors only"},
    {"foo[5m] [1m]", "1:9: parse error: ranges only allowed for vector selectors"},
    {"some_metric[5m] OFFSET", "1:23: parse error: unexpected end of input in offset, expected "
                               "number, duration, step(), or range()"},
    {"some_metric OFFSET 1m[5m]", "1:22: parse error: no offset modifiers allowed before range"},
    {"some_metric[5m] @ foo",
     "1:19: parse error: unexpected identifier \"foo\" in @, expected timestamp"},
    {"some_metric[5m] @", "1:18: parse error: unexpected end of input in @, expected timestamp"},
    {"some_metric @ 1234 [5m]", "1:20: parse error: no @ modifiers allowed before range"},
    {"foo @ Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"},
    {"(foo + bar)[5m]", "1:12: parse error: ranges only allowed for vector selectors"},
    {"sum without(==)(some_metric)",
     "1:13: parse error: unexpected <op:==> in grouping opts, expected label"},
    {"sum without(,)(some_metric)",
     "1:13: parse error: unexpected \",\" in grouping opts, expected label"},
    {"sum without(foo,,)(some_metric)",
     "1:17: parse error: unexpected \",\" in grouping opts, expected label"},
    {"sum (some_metric) by test",
     "1:22: parse error: unexpected identifier \"test\" in grouping opts, expected \"(\""},
    {"sum (some_metric) without (test) by (test)", "1:34: parse error: unexpected <by>"},
    {"topk(some_metric)", "1:1: parse error: wrong number of arguments for aggregate expression "
                          "provided, expected 2, got 1"},
    {"sum()", "1:1: parse error: no arguments for aggregate expression provided"},
    {"topk(some_metric,)", "1:17: parse error: trailing commas not allowed in function call args"},
    {"topk(some_metric, other_metric)",
     "1:6: parse error: expected type scalar in aggregation parameter, got instant vector"},
    {"count_values(5, other_metric)",
     "1:14: parse error: expected type string in aggregation parameter, got scalar"},
    {"sum(foo[5m])",
     "1:5: parse error: expected type instant vector in aggregation expression, got range vector"},
    {"rate(some_metric[5m]) @ 1234", "1:1: parse error: @ modifier must be preceded by an instant "
                                     "vector selector or range vector selector or a subquery"},
    {"floor()", "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 0"},
    {"floor(some_metric, other_metric)",
     "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 2"},
    {"floor(1)",
     "1:7: parse error: expected type instant vector in call to function \"floor\", got scalar"},
    {"hour(some_metric, some_metric, some_metric)",
     "1:1: parse error: expected at most 1 argument(s) in call to \"hour\", got 3"},
    {"label_join(foo, \"a\")",
     "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 2"},
    {"time(some_metric)", "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1"},
    {"non_existent_function_far_bar()",
     "1:1: parse error: unknown function with name \"non_existent_function_far_bar\""},
    {"rate(some_metric)", "1:6: parse error: expected type range vector in call to function "
                          "\"rate\", got instant vector"},
    {"label_replace(a, `b`, `c\xff`, `d`, `.*`)", "1:23: parse error: invalid UTF-8 rune"},
    {"-=", "1:2: parse error: unexpected \"=\""},
    {"++-++-+-+-<", "1:11: parse error: unexpected <op:<>"},
    {"e-+=/(0)", "1:4: parse error: unexpected \"=\""},
    {"a>b()", "1:3: parse error: unknown function with name \"b\""},
    {"rate(avg)", "1:6: parse error: expected type range vector in call to function \"rate\", got "
                  "instant vector"},
    {"1[5m:1m]",
     "1:1: parse error: subquery is only allowed on instant vector, got scalar instead"},
    {"foo[5m] + 1",
     "1:1: parse error: binary expression must contain only scalar and instant vector types"},
    {"\"abc", "1:1: parse error: unterminated quoted string"},
    {"`abc", "1:1: parse error: unterminated raw string"},
    {"\"a\\qb\"", "1:1: parse error: unknown escape sequence U+0071 'q'"},
    {"foo\n  + * 2", "2:5: parse error: unexpected <op:*>"},
    {"foo{a=\"b\"} bar", "1:12: parse error: unexpected identifier \"bar\""},
    {"sum by (a) foo", "1:12: parse error: unexpected identifier \"foo\""},

    {"foo[5m] anchored smoothed",
     "1:1: parse error: anchored and smoothed modifiers cannot be used together"},
    {"foo[5m:] anchored", "1:1: parse error: anchored modifier is not supported for subqueries"},
    {"sum(foo) smoothed", "1:1: parse error: smoothed modifier not implemented"},
    {"1 + fill(0) foo",
     "1:1: parse error: filling in missing series only allowed between instant vectors"},
    {"a and fill(0) b",
     "1:1: parse error: filling in missing series not allowed for set operators"},
    {"a + fill(0) fill_left(1) b", "1:13: parse error: unexpected identifier \"fill_left\""},
    {"a + fill(x) b",
     "1:10: parse error: unexpected identifier \"x\" in fill modifier, expected number"},
    {"h </ 0",
     "1:3: parse error: trim operator </ is not supported (native histograms are not supported)"},
    {"1e400", "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e400\": "
              "value out of range"},
    {"1e",
     "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e\": invalid syntax"},
    {"0x1.8", "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"0x1.8\": "
              "invalid syntax"},
    {"info(foo, bar)",
     "1:11: parse error: expected label selectors only, got vector selector instead"},
    {"a + 12345678901234567890123456789 * \"xyz\"",
     "1:37: parse error: binary expression must contain only scalar and instant vector types"},
};

static void test_invalid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        ocl_pql_expr_t *e = NULL;
        char err[512];
        int rc = ocl_pql_parse(invalid[i].in, strlen(invalid[i].in), &e, err, sizeof err);
        if (rc != OCL_EINVAL || strcmp(err, invalid[i].err) != 0) {
            fprintf(stderr, "input %s\n  got  %s\n  want %s\n", invalid[i].in,
                    rc ? err : "(success)", invalid[i].err);
            ocl_pql_expr_free(e);
            fail();
        }
        assert_null(e);
    }
}

static ocl_pql_expr_t *parse_ok(const char *q)
{
    ocl_pql_expr_t *e = NULL;
    char err[512];
    if (ocl_pql_parse(q, strlen(q), &e, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", q, err);
        fail();
    }
    return e;
}

static void test_precedence(void **state)
{
    (void)state;
    /* -2^2 = -(2^2): unary minus binds looser than ^ */
    ocl_pql_expr_t *e = parse_ok("-2^2");
    assert_int_equal(e->root->kind, OCL_PQL_UNARY);
    assert_int_equal(e->root->unary.op, '-');
    assert_int_equal(e->root->unary.expr->kind, OCL_PQL_BINARY);
    assert_int_equal(e->root->unary.expr->bin.op, OCL_BIN_POW);
    ocl_pql_expr_free(e);
    /* 2^3^2 = 2^(3^2) */
    e = parse_ok("2^3^2");
    assert_int_equal(e->root->bin.op, OCL_BIN_POW);
    assert_int_equal(e->root->bin.lhs->kind, OCL_PQL_NUMBER);
    assert_int_equal(e->root->bin.rhs->kind, OCL_PQL_BINARY);
    assert_true(e->root->bin.rhs->bin.lhs->number == 3);
    ocl_pql_expr_free(e);
    /* a or b and c = a or (b and c) */
    e = parse_ok("a or b and c");
    assert_int_equal(e->root->bin.op, OCL_BIN_OR);
    assert_int_equal(e->root->bin.rhs->bin.op, OCL_BIN_AND);
    assert_int_equal(e->root->bin.matching->card, OCL_CARD_MANY_TO_MANY);
    ocl_pql_expr_free(e);
    /* 1 + 2 * 3 > bool 4 = (1 + (2 * 3)) > bool 4 */
    e = parse_ok("1 + 2 * 3 > bool 4");
    ocl_pql_node_t *r = e->root;
    assert_int_equal(r->bin.op, OCL_BIN_GT);
    assert_true(r->bin.return_bool);
    assert_int_equal(r->type, OCL_PQL_SCALAR);
    assert_null(r->bin.matching);
    assert_int_equal(r->bin.lhs->bin.op, OCL_BIN_ADD);
    assert_int_equal(r->bin.lhs->bin.rhs->bin.op, OCL_BIN_MUL);
    ocl_pql_expr_free(e);
    /* -a * b = (-a) * b; a - b - c = (a - b) - c */
    e = parse_ok("-a * b");
    assert_int_equal(e->root->bin.op, OCL_BIN_MUL);
    assert_int_equal(e->root->bin.lhs->kind, OCL_PQL_UNARY);
    ocl_pql_expr_free(e);
    e = parse_ok("a - b - c");
    assert_int_equal(e->root->bin.lhs->kind, OCL_PQL_BINARY);
    ocl_pql_expr_free(e);
    /* -2 * 3 folds the literal: (-2) * 3 */
    e = parse_ok("-2 * 3");
    assert_int_equal(e->root->bin.lhs->kind, OCL_PQL_NUMBER);
    assert_true(e->root->bin.lhs->number == -2);
    ocl_pql_expr_free(e);
    /* a unless b or c = (a unless b) or c; comparisons between + and and */
    e = parse_ok("a unless b or c");
    assert_int_equal(e->root->bin.op, OCL_BIN_OR);
    assert_int_equal(e->root->bin.lhs->bin.op, OCL_BIN_UNLESS);
    ocl_pql_expr_free(e);
    e = parse_ok("a > b and c + d");
    assert_int_equal(e->root->bin.op, OCL_BIN_AND);
    assert_int_equal(e->root->bin.rhs->bin.op, OCL_BIN_ADD);
    ocl_pql_expr_free(e);
    /* 2 ^ -1 ^ 2 = 2 ^ (-(1 ^ 2)) */
    e = parse_ok("2 ^ -1 ^ 2");
    assert_int_equal(e->root->bin.rhs->kind, OCL_PQL_UNARY);
    ocl_pql_expr_free(e);
    /* offset binds to the selector: offset 100 + 2 = (x offset 100s) + 2 */
    e = parse_ok("x offset 100 + 2");
    assert_int_equal(e->root->bin.op, OCL_BIN_ADD);
    assert_int_equal(e->root->bin.lhs->vs.offset_ms, 100000);
    ocl_pql_expr_free(e);
}

static void test_tree_fields(void **state)
{
    (void)state;
    ocl_pql_expr_t *e = parse_ok("sum without (a) (rate(foo{x=~\"y.*\"}[5m] offset 1m @ 10.5))");
    ocl_pql_node_t *n = e->root;
    assert_int_equal(n->kind, OCL_PQL_AGGREGATE);
    assert_true(n->agg.without);
    assert_true(n->agg.grouping_written);
    assert_int_equal(n->agg.n_grouping, 1);
    ocl_pql_node_t *c = n->agg.expr;
    assert_int_equal(c->kind, OCL_PQL_CALL);
    assert_string_equal(c->call.func->name, "rate");
    ocl_pql_node_t *m = c->call.args[0];
    assert_int_equal(m->kind, OCL_PQL_MATRIX_SEL);
    assert_int_equal(m->ms.range_ms, 300000);
    ocl_pql_node_t *vs = m->ms.vs;
    assert_int_equal(vs->vs.offset_ms, 60000);
    assert_int_equal(vs->vs.at, OCL_PQL_AT_TIME);
    assert_int_equal(vs->vs.at_ms, 10500);
    assert_int_equal(vs->vs.n_matchers, 2);
    assert_int_equal(vs->vs.matchers[0].type, OCL_MATCH_RE);
    assert_true(ocl_matcher_match(&vs->vs.matchers[0], OCL_STR("yes")));
    assert_false(ocl_matcher_match(&vs->vs.matchers[0], OCL_STR("no")));
    assert_true(ocl_str_eq_c(vs->vs.matchers[1].name, "__name__"));
    assert_true(ocl_str_eq_c(vs->vs.matchers[1].value, "foo"));
    assert_true(n->depth >= 4);
    ocl_pql_expr_free(e);

    e = parse_ok("foo[1h:5m] @ end() offset -1m");
    assert_int_equal(e->root->kind, OCL_PQL_SUBQUERY);
    assert_int_equal(e->root->sq.range_ms, 3600000);
    assert_int_equal(e->root->sq.step_ms, 300000);
    assert_int_equal(e->root->sq.at, OCL_PQL_AT_END);
    assert_int_equal(e->root->sq.offset_ms, -60000);
    ocl_pql_expr_free(e);

    e = parse_ok("{\"caf\xc3\xa9.total\", \"le.x\"=~\"a\"}");
    assert_int_equal(e->root->vs.name.n, 0);
    assert_int_equal(e->root->vs.n_matchers, 2);
    assert_true(ocl_str_eq_c(e->root->vs.matchers[0].value, "caf\xc3\xa9.total"));
    assert_true(ocl_str_eq_c(e->root->vs.matchers[1].name, "le.x"));
    ocl_pql_expr_free(e);

    /* functions table: every experimental function is marked */
    assert_true(ocl_pql_func_lookup(OCL_STR("sort_by_label"))->experimental);
    assert_true(ocl_pql_func_lookup(OCL_STR("double_exponential_smoothing"))->experimental);
    assert_false(ocl_pql_func_lookup(OCL_STR("rate"))->experimental);
    assert_null(ocl_pql_func_lookup(OCL_STR("rat")));
    assert_null(ocl_pql_func_lookup(OCL_STR("ratez")));
    assert_int_equal(ocl_pql_func_lookup(OCL_STR("histogram_quantiles"))->max_args, 12);
}

static void test_regex_error(void **state)
{
    (void)state;
    ocl_pql_expr_t *e = NULL;
    char err[512];
    const char *q = "foo{a=~\"(\"}";
    assert_int_equal(ocl_pql_parse(q, strlen(q), &e, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "1:5: parse error: error parsing regexp"));
    /* a good regex before the bad one is released (ASan checks) */
    q = "foo{a=~\"x.*\"} + bar{b=~\"[\"}";
    assert_int_equal(ocl_pql_parse(q, strlen(q), &e, err, sizeof err), OCL_EINVAL);
    q = "rate(foo{a=~\"x.*\"}[5m]) + )";
    assert_int_equal(ocl_pql_parse(q, strlen(q), &e, err, sizeof err), OCL_EINVAL);
}

static void test_depth_limit(void **state)
{
    (void)state;
    char q[5000];
    char err[512];
    ocl_pql_expr_t *e = NULL;
    size_t k = 0;
    for (int i = 0; i < 1000; i++)
        q[k++] = '(';
    q[k++] = '1';
    for (int i = 0; i < 1000; i++)
        q[k++] = ')';
    assert_int_equal(ocl_pql_parse(q, k, &e, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "maximum depth"));
    /* long left-associative chains are bounded too */
    k = 0;
    for (int i = 0; i < 1000; i++)
        k += (size_t)snprintf(q + k, sizeof q - k, "a+");
    q[k++] = 'a';
    assert_int_equal(ocl_pql_parse(q, k, &e, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "maximum depth"));
    k = 0;
    for (int i = 0; i < 1000; i++)
        q[k++] = '-';
    q[k++] = 'a';
    assert_int_equal(ocl_pql_parse(q, k, &e, err, sizeof err), OCL_EINVAL);
    /* many small duration expressions are fine, one huge one is not */
    k = 0;
    for (int i = 0; i < 150; i++)
        k += (size_t)snprintf(q + k, sizeof q - k, "%srate(x[1m+1s])", i ? "+" : "");
    assert_int_equal(ocl_pql_parse(q, k, &e, err, sizeof err), 0);
    ocl_pql_expr_free(e);
    k = (size_t)snprintf(q, sizeof q, "x[1s");
    for (int i = 0; i < 300; i++)
        k += (size_t)snprintf(q + k, sizeof q - k, "+1s");
    q[k++] = ']';
    assert_int_equal(ocl_pql_parse(q, k, &e, err, sizeof err), OCL_EINVAL);
    assert_non_null(strstr(err, "maximum depth"));
    /* 100 levels are fine */
    k = 0;
    for (int i = 0; i < 100; i++)
        q[k++] = '(';
    q[k++] = '1';
    for (int i = 0; i < 100; i++)
        q[k++] = ')';
    assert_int_equal(ocl_pql_parse(q, k, &e, err, sizeof err), 0);
    ocl_pql_expr_free(e);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(ocl_pql_type_str(OCL_PQL_VECTOR), "instant vector");
    assert_string_equal(ocl_pql_type_str(OCL_PQL_MATRIX), "range vector");
    assert_string_equal(ocl_pql_aggop_str(OCL_AGG_COUNT_VALUES), "count_values");
    assert_string_equal(ocl_pql_binop_str(OCL_BIN_UNLESS), "unless");
    assert_true(ocl_pql_binop_is_comparison(OCL_BIN_LE));
    assert_false(ocl_pql_binop_is_comparison(OCL_BIN_AND));
    assert_true(ocl_pql_binop_is_set(OCL_BIN_OR));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),       cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_precedence),  cmocka_unit_test(test_tree_fields),
        cmocka_unit_test(test_regex_error), cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
