/*
 * db.h: the store interface, the only way civgrid reaches its database.
 *
 * Domain modules keep their SQL in their own *_store.c files and run it through
 * these calls with bound parameters ("?1", "?2"...: both SQLite and, after
 * translation to "$1", PostgreSQL understand them). Nothing above this header
 * knows which backend is in use; see docs/STORE.md for how a libpq backend fits.
 *
 * Threads and connections:
 * - Reads use the calling thread's own connection (cg_db_reader()), opened on
 *   first use and kept for the life of the thread. Reader connections refuse writes.
 * - Writes are jobs handed to cg_db_write(). One writer thread owns the only
 *   write connection and runs queued jobs in batches: each job in its own
 *   savepoint, the whole batch in one transaction, so one fsync acknowledges
 *   many requests (group commit). cg_db_write() returns only after the commit
 *   is durable, or with an error after the job's savepoint was rolled back.
 */
#ifndef CG_DB_H
#define CG_DB_H

#include "base/cg.h"
#include "base/err.h"

struct cg_db;   /* a database: its connections, its writer thread and its statistics */
struct cg_conn; /* one connection, used by one thread at a time */
struct cg_stmt; /* one prepared statement of a connection */

enum cg_db_sync { CG_DB_SYNC_FULL = 0, CG_DB_SYNC_NORMAL };

struct cg_db_options {
    const char *backend;  /* "sqlite" (the only one built today) */
    const char *path;     /* database file */
    enum cg_db_sync sync; /* FULL: durable on power loss; NORMAL: on process crash only */
    int busy_timeout_ms;  /* how long a connection waits for a lock */
    int max_batch;        /* most write jobs grouped in one commit; 1 disables grouping */
    bool create;          /* create the file when missing (else CG_ENOTFOUND) */
    bool migrate;         /* apply pending schema migrations on open */
};

/* Fills opt with the defaults: sqlite, FULL, 5000 ms, 256 jobs, create and migrate. */
void cg_db_options_init(struct cg_db_options *opt, const char *path);

/*
 * Opens the database described by opt, applying migrations when asked, and
 * starts its writer thread. Returns 0 and a new database owned by the caller
 * (free with cg_db_close()), or CG_ENOTFOUND / CG_EDB / CG_EIO with err set.
 */
int cg_db_open(const struct cg_db_options *opt, struct cg_db **out_db,
               struct cg_error *err) CG_MUST_CHECK;
/* Stops the writer after it has finished queued jobs and closes every connection. NULL-safe. */
void cg_db_close(struct cg_db *db);

/* ---- reads ------------------------------------------------------------------------------ */

/*
 * Returns the calling thread's read connection through out_conn, opening it on
 * first use. Borrowed: valid until the thread exits or the database is closed.
 */
int cg_db_reader(struct cg_db *db, struct cg_conn **out_conn, struct cg_error *err) CG_MUST_CHECK;

/*
 * A read transaction on the calling thread's connection: the reads until the matching
 * cg_db_read_end() see one snapshot of the database, and pay once for taking it. Each
 * statement outside one is a transaction of its own, and under a busy writer every one of
 * them takes the WAL read lock again and finds its page cache dropped (the database changed):
 * an event report's seven reads did that seven times. Nests (only the outermost begins and
 * ends); keep it short, a snapshot held open holds back the WAL checkpoint.
 */
int cg_db_read_begin(struct cg_db *db, struct cg_conn **out_conn,
                     struct cg_error *err) CG_MUST_CHECK;
/* Ends the read transaction of cg_db_read_begin() (when outermost). NULL-safe. */
void cg_db_read_end(struct cg_conn *conn);

/* ---- writes ----------------------------------------------------------------------------- */

/*
 * A write job. It runs on the writer thread inside a savepoint and must do all
 * of its work through conn; returning non-zero rolls back everything it did.
 * It must not block on anything but the database.
 */
typedef int cg_db_write_fn(struct cg_conn *conn, void *ctx, struct cg_error *err);

/*
 * Runs fn(conn, ctx, err) in a transaction and waits until that transaction is
 * committed (durably, under the configured synchronous mode). Returns fn's
 * result; CG_EDB when the commit itself failed (then nothing of fn remains);
 * CG_ESHUTDOWN once the database is closing.
 */
int cg_db_write(struct cg_db *db, cg_db_write_fn *fn, void *ctx,
                struct cg_error *err) CG_MUST_CHECK;

/* ---- statements ------------------------------------------------------------------------- */

#define CG_DB_ROW 1  /* cg_db_step(): a row is ready */
#define CG_DB_DONE 0 /* cg_db_step(): no more rows */

/*
 * Prepares sql on conn, reusing the connection's cached statement for the same
 * SQL text. Returns 0 and a statement to give back with cg_db_finalize().
 */
int cg_db_prepare(struct cg_conn *conn, const char *sql, struct cg_stmt **out_stmt,
                  struct cg_error *err) CG_MUST_CHECK;
/* Resets the statement and returns it to its connection's cache. NULL-safe. */
void cg_db_finalize(struct cg_stmt *st);

/* Binders; idx counts from 1. Text and blobs are copied. Return 0 or CG_EDB. */
int cg_db_bind_int64(struct cg_stmt *st, int idx, int64_t v);
int cg_db_bind_double(struct cg_stmt *st, int idx, double v);
int cg_db_bind_text(struct cg_stmt *st, int idx, const char *s, size_t len);
int cg_db_bind_blob(struct cg_stmt *st, int idx, const void *p, size_t len);
int cg_db_bind_null(struct cg_stmt *st, int idx);

/* Returns CG_DB_ROW, CG_DB_DONE, or a negative CG_E* (CG_ECONFLICT for a constraint). */
int cg_db_step(struct cg_stmt *st, struct cg_error *err);
/* Steps a statement expected to return no row: 0 or a negative CG_E*. */
int cg_db_step_done(struct cg_stmt *st, struct cg_error *err) CG_MUST_CHECK;

/* Column readers for the current row; idx counts from 0. Text is borrowed until the next step. */
int64_t cg_db_column_int64(struct cg_stmt *st, int idx);
double cg_db_column_double(struct cg_stmt *st, int idx);
const char *cg_db_column_text(struct cg_stmt *st, int idx); /* "" for NULL */
size_t cg_db_column_bytes(struct cg_stmt *st, int idx);
bool cg_db_column_is_null(struct cg_stmt *st, int idx);

/*
 * Prepares sql and binds one argument per character of types: 'i' an int64_t,
 * 't' a const char * (NULL binds SQL NULL), 'd' a double. Pass int64_t values
 * as int64_t: the arguments are read with va_arg. Give the statement back with
 * cg_db_finalize() (also on error: *out_stmt is then NULL).
 */
int cg_db_prepare_bind(struct cg_conn *conn, const char *sql, struct cg_stmt **out_stmt,
                       struct cg_error *err, const char *types, ...) CG_MUST_CHECK;
/* Prepares, binds as cg_db_prepare_bind(), steps a statement that returns no row, finalizes. */
int cg_db_run(struct cg_conn *conn, const char *sql, struct cg_error *err, const char *types,
              ...) CG_MUST_CHECK;
/*
 * Runs a query that returns one integer (COUNT, MAX, EXISTS...) into *out,
 * binding arguments as cg_db_prepare_bind(). CG_ENOTFOUND when it returns no row.
 */
int cg_db_query_int64(struct cg_conn *conn, const char *sql, int64_t *out, struct cg_error *err,
                      const char *types, ...) CG_MUST_CHECK;
/* Number of rows the last INSERT, UPDATE or DELETE on conn changed. */
int64_t cg_db_changes(struct cg_conn *conn);

/* Runs one or more statements without parameters (migrations, pragmas). */
int cg_db_exec(struct cg_conn *conn, const char *sql, struct cg_error *err);
int64_t cg_db_last_insert_id(struct cg_conn *conn);

/* ---- administration --------------------------------------------------------------------- */

struct cg_db_info {
    char backend[16];
    char path[512];
    char journal_mode[16];
    int schema_version; /* highest applied migration */
    int schema_latest;  /* highest migration this binary knows */
    int64_t size_bytes; /* database file plus its WAL */
};

/* Fills out_info from the calling thread's read connection. */
int cg_db_info(struct cg_db *db, struct cg_db_info *out_info, struct cg_error *err) CG_MUST_CHECK;

/*
 * Applies every pending migration, each in its own transaction. *out_applied
 * (may be NULL) receives how many were applied. CG_ECONFLICT when the
 * database is newer than this binary.
 */
int cg_db_migrate(struct cg_db *db, int *out_applied, struct cg_error *err) CG_MUST_CHECK;

/*
 * Checks the database: integrity, foreign keys and schema version. Each
 * problem found is appended as one line to problems (a cg_str, may be NULL).
 * Returns 0 when healthy, CG_ECONFLICT when problems were found, or CG_EDB.
 */
struct cg_str;
int cg_db_check(struct cg_db *db, struct cg_str *problems, struct cg_error *err) CG_MUST_CHECK;

/* Writes a consistent copy of the live database to dest_path (online backup). */
int cg_db_backup(struct cg_db *db, const char *dest_path, struct cg_error *err) CG_MUST_CHECK;

/*
 * Replaces the database file at db_path with the backup at src_path after
 * checking the backup's integrity. The server must not be running.
 */
int cg_db_restore(const char *src_path, const char *db_path, struct cg_error *err) CG_MUST_CHECK;

/* Statistics since open: committed write batches and jobs, and time spent in the database. */
struct cg_db_stats {
    uint64_t commits;        /* write transactions committed (fsyncs in FULL mode) */
    uint64_t write_jobs;     /* write jobs acknowledged */
    uint64_t write_failures; /* jobs rolled back */
    uint64_t db_ns;          /* total nanoseconds spent in statements and commits */
};
void cg_db_stats(struct cg_db *db, struct cg_db_stats *out_stats);

/* Nanoseconds this thread has spent in the database since the last call; resets the counter. */
uint64_t cg_db_thread_take_ns(void);

#endif
