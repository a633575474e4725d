/*
 * cli.h — the ocelot command line: serve, up, gen, check, version.
 */
#ifndef OCL_CLI_H
#define OCL_CLI_H

int ocl_cli_main(int argc, char **argv);
int ocl_cmd_serve(int argc, char **argv, int developer_defaults);
int ocl_cmd_gen(int argc, char **argv);
int ocl_cmd_check(int argc, char **argv);

#endif
