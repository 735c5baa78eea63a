/*
 * spfgate.c - main() of the `spfgate` command: dispatch to its subcommands.
 *
 *	spfgate check [options] CLIENT-IP SENDER     one SPF evaluation (check.c)
 *	spfgate help | --help | -h                   usage on stdout, exit 0
 *	spfgate --version | version                  "spfgate 0.1.0", exit 0
 *
 * Anything else is one line on stderr and exit status 2 (see spfgate(1)).
 */
#include <stdio.h>
#include <string.h>

#include "spfgate/spfgate.h"

#include "cli.h"

static void usage(FILE *f)
{
	fputs("spfgate - check SPF (RFC 7208) from the command line\n"
	      "\n"
	      "usage: spfgate check [options] CLIENT-IP SENDER\n"
	      "       spfgate help | --help\n"
	      "       spfgate --version\n"
	      "\n"
	      "SENDER is user@domain, a bare domain (postmaster@domain), or \"\" for the\n"
	      "null sender (postmaster@HELO; needs --helo).\n"
	      "\n", f);
	check_usage(f);
	fputs("\nExample:\n"
	      "  spfgate check --zone examples/example.com.zone --offline --trace \\\n"
	      "      192.0.2.10 alice@example.com\n"
	      "\nSee spfgate(1) for output formats and exit statuses.\n", f);
}

int main(int argc, char **argv)
{
	char esc[CLI_SAFE_MAX];
	if (argc < 2) {
		cli_error("missing command (try 'spfgate help')");
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "check") == 0)
		return check_main(argc - 1, argv + 1);
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return EXIT_DONE;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("spfgate %s\n", SPFGATE_VERSION);
		return EXIT_DONE;
	}
	if (cmd[0] == '-')
		cli_error("unknown option '%s' (try 'spfgate help')", cli_safe(cmd, esc, sizeof(esc)));
	else
		cli_error("unknown command '%s' (try 'spfgate help')", cli_safe(cmd, esc, sizeof(esc)));
	return EXIT_USAGE;
}
