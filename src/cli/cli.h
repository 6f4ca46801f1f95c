/*
 * cli.h: the civgrid command-line tool. Each subcommand is a function in a
 * cmd_<area>.c file with a row in cli_main.c's table (git's commands[]).
 * Exit codes: 0 success, 1 failure, 2 usage error. Primary output goes to
 * stdout, errors to stderr as "civgrid <cmd>: message".
 */
#ifndef CG_CLI_H
#define CG_CLI_H

#include "base/cg.h"
#include "app/config.h"
#include "base/err.h"

struct cg_db;

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

struct cli_ctx {
    struct cg_config cfg; /* settings after file, environment and global options */
    const char *cmd;      /* the subcommand's name, for messages */
};

typedef int cli_fn(struct cli_ctx *ctx, int argc, char **argv);

struct cli_command {
    const char *name;
    cli_fn *fn;
    const char *summary;
};

/* Prints "civgrid <cmd>: <message>" on stderr. */
void cli_error(const struct cli_ctx *ctx, const char *fmt, ...) CG_PRINTF(2, 3);

/*
 * Parses a subcommand's argv: recognises --help/-h (prints help, returns -1 so
 * the caller exits 0) and rejects unknown options (returns CLI_USAGE). On
 * success the positional arguments are moved to the front and their count is
 * returned through out_npos; flags listed in bool_flags (NULL-terminated, e.g.
 * "--yes") are reported through out_flags bits in order.
 */
int cli_parse(struct cli_ctx *ctx, int argc, char **argv, const char *help,
              const char *const *bool_flags, unsigned *out_flags, int *out_npos);

/*
 * Opens the configured database. create: make it when missing; migrate: apply
 * pending migrations. Prints the error and returns CLI_FAIL on failure.
 */
int cli_open_db(struct cli_ctx *ctx, bool create, bool migrate, struct cg_db **out_db);

/*
 * One option of cli_parse_opts(): "--name" sets *flag (a switch) or takes the
 * next word into *value (an option with a value); exactly one is non-NULL.
 */
struct cli_opt {
    const char *name;
    bool *flag;
    const char **value;
};

/*
 * Parses argv against opts (ended by a {NULL} row): --help/-h prints help
 * and returns -1; an unknown option, a missing value or more than max_pos
 * positional words print why and return CLI_USAGE; otherwise the positional
 * words go to pos[0..*out_npos) and 0 is returned.
 */
int cli_parse_opts(struct cli_ctx *ctx, int argc, char **argv, const char *help,
                   const struct cli_opt *opts, char **pos, int max_pos, int *out_npos);

/*
 * Reads the regular file path whole into *out (NUL-terminated, free() it) and
 * its length into *out_len; a file over max bytes is refused. Prints the error
 * and returns CLI_FAIL on failure.
 */
int cli_read_file(struct cli_ctx *ctx, const char *path, size_t max, char **out, size_t *out_len);

/* Subcommands: cmd_db.c, cmd_user.c, cmd_audit.c. */
cli_fn cmd_init, cmd_migrate, cmd_backup, cmd_restore, cmd_check;
cli_fn cmd_user, cmd_audit, cmd_keys;
cli_fn cmd_grid, cmd_demo;
cli_fn cmd_calendar;
cli_fn cmd_catalogue;
cli_fn cmd_kpi;

/*
 * cmd_kpi.c: compares the KPI roll-ups with the events (cg_event_rollup_check()), appending
 * one line per differing row (the first 20, then how many more), each after prefix, to
 * problems. *out_rows gets the rows the events make. 0, CG_ECONFLICT or a store error.
 */
struct cg_str;
int cli_rollup_check(struct cg_db *db, const char *prefix, struct cg_str *problems,
                     int64_t *out_rows, struct cg_error *err);

#endif
