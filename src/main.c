/*
 * main.c — entry point: dispatches to the subcommands in src/cli/.
 */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return ocl_cli_main(argc, argv);
}
