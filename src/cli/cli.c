/*
 * cli.c — subcommand dispatch and `ocelot version`.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: ocelot <command> [options]\n\n"
               "commands:\n"
               "  serve     run the collector + backend\n"
               "  up        serve with developer defaults and print the URLs\n"
               "  gen       send synthetic traces, metrics and logs to an OTLP endpoint\n"
               "  version   print the version\n\n"
               "Run 'ocelot <command> --help' for the options of a command.\n");
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
    if (!strcmp(cmd, "check")) {
        fprintf(stderr, "ocelot check: configuration files are not supported yet; every "
                        "setting is a flag (ocelot serve --help)\n");
        return 2;
    }
    fprintf(stderr, "ocelot: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
