/*
 * cli.c — subcommand dispatch, `ocelot check` and `ocelot version`.
 */
#include "cli/cli.h"

#include "core/config.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: ocelot <command> [options]\n\n"
               "commands:\n"
               "  serve     run the collector + backend\n"
               "  up        serve with developer defaults and print the URLs\n"
               "  gen       send synthetic traces, metrics and logs to an OTLP endpoint\n"
               "  check     validate a configuration file and print the effective settings\n"
               "  version   print the version\n\n"
               "Run 'ocelot <command> --help' for the options of a command.\n");
}

static void check_usage(FILE *f)
{
    fprintf(f, "usage: ocelot check CONFIG\n\n"
               "Loads the YAML configuration file CONFIG (see docs/CONFIGURATION.md) over the\n"
               "defaults and validates it. On success prints 'config OK: CONFIG' and every\n"
               "effective setting as 'key: value', and exits 0; otherwise prints the error\n"
               "(with its line) and exits 1. Command-line flags of 'ocelot serve' override\n"
               "the file and are not applied here.\n");
}

int ocl_cmd_check(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        check_usage(stdout);
        return 0;
    }
    if (argc != 2 || (argv[1][0] == '-' && argv[1][1])) {
        check_usage(stderr);
        return 2;
    }
    ocl_config_t cfg;
    char err[512];
    ocl_config_defaults(&cfg);
    if (ocl_config_load(argv[1], &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("config OK: %s\n", argv[1]);
    ocl_config_print(&cfg, stdout);
    return 0;
}

int ocl_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("ocelot %s (%s)\n", OCL_VERSION, OCL_GIT_REV);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "serve")) return ocl_cmd_serve(argc - 1, argv + 1, 0);
    if (!strcmp(cmd, "up")) return ocl_cmd_serve(argc - 1, argv + 1, 1);
    if (!strcmp(cmd, "gen")) return ocl_cmd_gen(argc - 1, argv + 1);
    if (!strcmp(cmd, "check")) return ocl_cmd_check(argc - 1, argv + 1);
    fprintf(stderr, "ocelot: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
