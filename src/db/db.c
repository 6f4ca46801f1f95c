/*
 * db.c: the backend-independent half of the store: connections, the
 * per-connection statement cache, the reader connection of each thread and the
 * writer thread that groups commits. See db.h for the contract.
 */
#include "base/cg.h"
#include "base/mem.h"
#include "base/str.h"
#include "base/time.h"
#include "db/db.h"
#include "db/db_int.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/prctl.h>

#define STMT_CACHE_SLOTS 64

struct cg_stmt {
    struct cg_conn *conn; /* owning connection */
    void *h;              /* driver statement */
    const char *sql;      /* the text it was prepared from (borrowed: a literal) */
    bool cached;          /* lives in conn->cache; finalize only resets it */
    bool in_use;          /* handed out by cg_db_prepare() and not yet finalized */
    int64_t started_ns;   /* monotonic time of the first step of this run, 0 when not running */
};

struct cg_conn {
    struct cg_db *db;
    void *h;                                /* driver connection */
    struct cg_stmt cache[STMT_CACHE_SLOTS]; /* open-addressed by SQL text pointer */
    struct cg_conn *next;                   /* in db->conns (every connection) */
    struct cg_conn *next_idle;              /* in db->idle (readers whose thread exited) */
    int read_depth;                         /* cg_db_read_begin() calls not ended yet */
};

struct write_job {
    cg_db_write_fn *fn;
    void *ctx;
    struct cg_error *err;
    int rc;
    sem_t done; /* posted once the job's commit is durable (or failed): by the writer for
                   a batch's first job, by the job before it for the others */
    struct write_job *next;
};

struct cg_db {
    const struct cg_db_driver *drv;
    struct cg_db_options opt;
    char *path; /* owned copy of opt.path */

    pthread_mutex_t lock;     /* guards conns, idle and the write queue */
    struct cg_conn *conns;    /* every open connection, for cg_db_close() */
    struct cg_conn *idle;     /* reader connections free for a new thread */
    pthread_key_t reader_key; /* thread -> its reader connection */

    struct cg_conn *writer; /* the only write connection, used by the writer thread */
    pthread_t writer_thread;
    pthread_cond_t queue_cond; /* signalled when a job is queued or on stop */
    struct write_job *head, *tail;
    bool stopping;

    _Atomic uint64_t commits, write_jobs, write_failures, db_ns;
};

static _Thread_local uint64_t thread_db_ns;

static void account_ns(struct cg_db *db, int64_t start)
{
    uint64_t ns = (uint64_t)(cg_time_mono_ns() - start);

    thread_db_ns += ns;
    atomic_fetch_add_explicit(&db->db_ns, ns, memory_order_relaxed);
}

uint64_t cg_db_thread_take_ns(void)
{
    uint64_t ns = thread_db_ns;

    thread_db_ns = 0;
    return ns;
}

const struct cg_db_driver *cg_db__driver(const char *name)
{
    if (!name || !strcmp(name, cg_db__sqlite_driver.name)) {
        return &cg_db__sqlite_driver;
    }
    return NULL;
}

void cg_db_options_init(struct cg_db_options *opt, const char *path)
{
    opt->backend = "sqlite";
    opt->path = path;
    opt->sync = CG_DB_SYNC_FULL;
    opt->busy_timeout_ms = 5000;
    opt->max_batch = 256;
    opt->create = true;
    opt->migrate = true;
}

/* ---- connections ------------------------------------------------------------------------ */

static int conn_open(struct cg_db *db, bool writer, struct cg_conn **out, struct cg_error *err)
{
    void *h = NULL;
    int rc = db->drv->xOpen(&db->opt, writer, &h, err);
    struct cg_conn *c;

    if (rc) {
        return rc;
    }
    c = cg_calloc(1, sizeof(*c));
    c->db = db;
    c->h = h;
    pthread_mutex_lock(&db->lock);
    c->next = db->conns;
    db->conns = c;
    pthread_mutex_unlock(&db->lock);
    *out = c;
    return 0;
}

static void conn_free(struct cg_conn *c)
{
    for (size_t i = 0; i < STMT_CACHE_SLOTS; i++) {
        if (c->cache[i].h) {
            c->db->drv->xFinalize(c->cache[i].h);
        }
    }
    c->db->drv->xClose(c->h);
    free(c);
}

/* Thread exit: the reader connection goes back to the idle list for the next thread. */
static void reader_release(void *p)
{
    struct cg_conn *c = p;
    struct cg_db *db = c->db;

    pthread_mutex_lock(&db->lock);
    c->next_idle = db->idle;
    db->idle = c;
    pthread_mutex_unlock(&db->lock);
}

int cg_db_reader(struct cg_db *db, struct cg_conn **out_conn, struct cg_error *err)
{
    struct cg_conn *c = pthread_getspecific(db->reader_key);
    int rc;

    if (!c) {
        pthread_mutex_lock(&db->lock);
        c = db->idle;
        if (c) {
            db->idle = c->next_idle;
            c->next_idle = NULL;
        }
        pthread_mutex_unlock(&db->lock);
        if (!c) {
            rc = conn_open(db, false, &c, err);
            if (rc) {
                return rc;
            }
        }
        pthread_setspecific(db->reader_key, c);
    }
    *out_conn = c;
    return 0;
}

int cg_db_read_begin(struct cg_db *db, struct cg_conn **out_conn, struct cg_error *err)
{
    int rc = cg_db_reader(db, out_conn, err);

    if (!rc && (*out_conn)->read_depth++ == 0) {
        rc = cg_db_run(*out_conn, "BEGIN", err, ""); /* prepared once, kept in the cache */
        if (rc) {
            (*out_conn)->read_depth = 0;
        }
    }
    return rc;
}

void cg_db_read_end(struct cg_conn *conn)
{
    if (conn && conn->read_depth > 0 && --conn->read_depth == 0) {
        struct cg_error ignored = CG_ERROR_INIT;

        /* a read transaction: nothing to lose if it fails */
        if (cg_db_run(conn, "COMMIT", &ignored, "")) {
            cg_error_clear(&ignored);
        }
    }
}

/* ---- statements ------------------------------------------------------------------------- */

static size_t slot_of(const char *sql)
{
    uintptr_t x = (uintptr_t)sql;

    x ^= x >> 17;
    x *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 7) % STMT_CACHE_SLOTS;
}

int cg_db_prepare(struct cg_conn *conn, const char *sql, struct cg_stmt **out_stmt,
                  struct cg_error *err)
{
    size_t start = slot_of(sql);
    struct cg_stmt *free_slot = NULL;
    struct cg_stmt *st;
    void *h = NULL;
    int64_t t0 = cg_time_mono_ns();
    int rc;

    for (size_t i = 0; i < STMT_CACHE_SLOTS; i++) {
        st = &conn->cache[(start + i) % STMT_CACHE_SLOTS];
        if (!st->h) {
            free_slot = st;
            break;
        }
        if (st->sql == sql && !st->in_use) {
            st->in_use = true;
            *out_stmt = st;
            return 0;
        }
    }
    rc = conn->db->drv->xPrepare(conn->h, sql, &h, err);
    account_ns(conn->db, t0);
    if (rc) {
        return rc;
    }
    if (free_slot) {
        st = free_slot;
        st->cached = true;
    } else {
        st = cg_calloc(1, sizeof(*st)); /* cache full, or the cached copy is busy */
        st->cached = false;
    }
    st->conn = conn;
    st->h = h;
    st->sql = sql;
    st->in_use = true;
    *out_stmt = st;
    return 0;
}

void cg_db_finalize(struct cg_stmt *st)
{
    if (!st) {
        return;
    }
    if (st->started_ns) {
        account_ns(st->conn->db, st->started_ns); /* left before its last row */
        st->started_ns = 0;
    }
    if (st->cached) {
        st->conn->db->drv->xReset(st->h);
        st->in_use = false;
    } else {
        st->conn->db->drv->xFinalize(st->h);
        free(st);
    }
}

int cg_db_bind_int64(struct cg_stmt *st, int idx, int64_t v)
{
    return st->conn->db->drv->xBindInt64(st->h, idx, v);
}

int cg_db_bind_double(struct cg_stmt *st, int idx, double v)
{
    return st->conn->db->drv->xBindDouble(st->h, idx, v);
}

int cg_db_bind_text(struct cg_stmt *st, int idx, const char *s, size_t len)
{
    return st->conn->db->drv->xBindText(st->h, idx, s, len);
}

int cg_db_bind_blob(struct cg_stmt *st, int idx, const void *p, size_t len)
{
    return st->conn->db->drv->xBindBlob(st->h, idx, p, len);
}

int cg_db_bind_null(struct cg_stmt *st, int idx)
{
    return st->conn->db->drv->xBindNull(st->h, idx);
}

/*
 * A statement's database time runs from its first step to the step that ends it (or its
 * finalize), not step by step: two clock reads a row were a tenth of a 10,000-row read's time.
 * The reader's own work between the rows of a loop is counted in.
 */
int cg_db_step(struct cg_stmt *st, struct cg_error *err)
{
    int rc;

    if (!st->started_ns) {
        st->started_ns = cg_time_mono_ns();
    }
    rc = st->conn->db->drv->xStep(st->h, err);
    if (rc != CG_DB_ROW) {
        account_ns(st->conn->db, st->started_ns);
        st->started_ns = 0;
    }
    return rc;
}

int cg_db_step_done(struct cg_stmt *st, struct cg_error *err)
{
    int rc = cg_db_step(st, err);

    if (rc == CG_DB_ROW) {
        return cg_error_set(err, CG_EDB, "statement returned a row where none was expected");
    }
    return rc;
}

int64_t cg_db_column_int64(struct cg_stmt *st, int idx)
{
    return st->conn->db->drv->xColumnInt64(st->h, idx);
}

double cg_db_column_double(struct cg_stmt *st, int idx)
{
    return st->conn->db->drv->xColumnDouble(st->h, idx);
}

const char *cg_db_column_text(struct cg_stmt *st, int idx)
{
    const char *s = st->conn->db->drv->xColumnText(st->h, idx);

    return s ? s : "";
}

size_t cg_db_column_bytes(struct cg_stmt *st, int idx)
{
    return st->conn->db->drv->xColumnBytes(st->h, idx);
}

bool cg_db_column_is_null(struct cg_stmt *st, int idx)
{
    return st->conn->db->drv->xColumnIsNull(st->h, idx);
}

int cg_db_exec(struct cg_conn *conn, const char *sql, struct cg_error *err)
{
    int64_t t0 = cg_time_mono_ns();
    int rc = conn->db->drv->xExec(conn->h, sql, err);

    account_ns(conn->db, t0);
    return rc;
}

int64_t cg_db_last_insert_id(struct cg_conn *conn)
{
    return conn->db->drv->xLastInsertId(conn->h);
}

int64_t cg_db_changes(struct cg_conn *conn)
{
    return conn->db->drv->xChanges(conn->h);
}

static int bind_va(struct cg_stmt *st, const char *types, va_list ap)
{
    int rc = 0;

    /* A types string that disagrees with the SQL would read stray arguments: a bug. */
    CG_ASSERT(st->conn->db->drv->xParamCount(st->h) == (int)strlen(types));

    for (int i = 0; types[i] && !rc; i++) {
        switch (types[i]) {
        case 'i':
            rc = cg_db_bind_int64(st, i + 1, va_arg(ap, int64_t));
            break;
        case 'd':
            rc = cg_db_bind_double(st, i + 1, va_arg(ap, double));
            break;
        case 't': {
            const char *s = va_arg(ap, const char *);

            rc = s ? cg_db_bind_text(st, i + 1, s, strlen(s)) : cg_db_bind_null(st, i + 1);
            break;
        }
        default:
            CG_ASSERT(!"unknown bind type");
        }
    }
    return rc;
}

/* Prepares sql and binds the arguments; on failure *out_stmt is NULL and nothing is held. */
static int prepare_va(struct cg_conn *conn, const char *sql, struct cg_stmt **out_stmt,
                      struct cg_error *err, const char *types, va_list ap)
{
    int rc = cg_db_prepare(conn, sql, out_stmt, err);

    if (rc) {
        *out_stmt = NULL;
        return rc;
    }
    rc = bind_va(*out_stmt, types, ap);
    if (rc) {
        cg_db_finalize(*out_stmt);
        *out_stmt = NULL;
        return cg_error_set(err, rc, "cannot bind parameters");
    }
    return 0;
}

int cg_db_prepare_bind(struct cg_conn *conn, const char *sql, struct cg_stmt **out_stmt,
                       struct cg_error *err, const char *types, ...)
{
    va_list ap;
    int rc;

    va_start(ap, types);
    rc = prepare_va(conn, sql, out_stmt, err, types, ap);
    va_end(ap);
    return rc;
}

int cg_db_query_int64(struct cg_conn *conn, const char *sql, int64_t *out, struct cg_error *err,
                      const char *types, ...)
{
    struct cg_stmt *st;
    va_list ap;
    int rc;

    va_start(ap, types);
    rc = prepare_va(conn, sql, &st, err, types, ap);
    va_end(ap);
    if (rc) {
        return rc;
    }
    rc = cg_db_step(st, err);
    if (rc == CG_DB_ROW) {
        *out = cg_db_column_int64(st, 0);
        rc = 0;
    } else if (rc == CG_DB_DONE) {
        rc = CG_ENOTFOUND;
    }
    cg_db_finalize(st);
    return rc;
}

int cg_db_run(struct cg_conn *conn, const char *sql, struct cg_error *err, const char *types, ...)
{
    struct cg_stmt *st;
    va_list ap;
    int rc;

    va_start(ap, types);
    rc = prepare_va(conn, sql, &st, err, types, ap);
    va_end(ap);
    if (rc) {
        return rc;
    }
    rc = cg_db_step_done(st, err);
    cg_db_finalize(st);
    return rc;
}

/* ---- the writer thread: group commit ---------------------------------------------------- */

/*
 * The transaction control statements of the writer: prepared once and kept in the
 * writer connection's statement cache (each batch runs a savepoint per job, so parsing
 * them every time was a good part of the writer's CPU).
 */
static int writer_run(struct cg_conn *w, const char *sql, struct cg_error *err)
{
    return cg_db_run(w, sql, err, "");
}

/* Runs one batch of jobs in one transaction; each job gets its own savepoint. */
static void run_batch(struct cg_db *db, struct write_job *batch)
{
    struct cg_conn *w = db->writer;
    struct cg_error begin_err = CG_ERROR_INIT;
    int64_t t0 = cg_time_mono_ns();
    int rc = writer_run(w, db->drv->begin_write_sql, &begin_err);
    bool any_ok = false, broken = false;

    if (rc) {
        for (struct write_job *j = batch; j; j = j->next) {
            j->rc =
                cg_error_set(j->err, rc, "cannot start a write transaction: %s", begin_err.message);
        }
        account_ns(db, t0);
        return;
    }
    for (struct write_job *j = batch; j; j = j->next) {
        struct cg_error sp_err = CG_ERROR_INIT;

        if (writer_run(w, "SAVEPOINT cg_job", &sp_err)) {
            j->rc = cg_error_set(j->err, CG_EDB, "%s", sp_err.message);
            continue;
        }
        j->rc = j->fn(w, j->ctx, j->err);
        if (j->rc) {
            /* Undo this job only; the rest of the batch carries on. */
            if (writer_run(w, "ROLLBACK TO cg_job", &sp_err)) {
                broken = true; /* the transaction is in an unknown state: drop it all */
                break;
            }
        } else {
            any_ok = true;
        }
        (void)writer_run(w, "RELEASE cg_job", &sp_err);
    }
    if (broken) {
        (void)db->drv->xExec(w->h, "ROLLBACK", &begin_err);
        for (struct write_job *j = batch; j; j = j->next) {
            if (!j->rc) {
                j->rc = cg_error_set(j->err, CG_EDB, "write batch rolled back");
            }
        }
    } else if (any_ok) {
        struct cg_error commit_err = CG_ERROR_INIT;

        rc = writer_run(w, "COMMIT", &commit_err);
        if (rc) {
            (void)db->drv->xExec(w->h, "ROLLBACK", &commit_err);
            for (struct write_job *j = batch; j; j = j->next) {
                if (!j->rc) {
                    j->rc = cg_error_set(j->err, CG_EDB, "commit failed: %s", commit_err.message);
                }
            }
        } else {
            atomic_fetch_add(&db->commits, 1);
        }
    } else {
        (void)writer_run(w, "ROLLBACK", &begin_err);
    }
    for (struct write_job *j = batch; j; j = j->next) {
        atomic_fetch_add(j->rc ? &db->write_failures : &db->write_jobs, 1);
    }
    account_ns(db, t0);
}

static void *writer_main(void *arg)
{
    struct cg_db *db = arg;

    prctl(PR_SET_NAME, "cg-db-writer"); /* for top -H and perf */
    pthread_mutex_lock(&db->lock);
    for (;;) {
        struct write_job *batch, *last;
        int n = 1;

        while (!db->head && !db->stopping) {
            pthread_cond_wait(&db->queue_cond, &db->lock);
        }
        if (!db->head) {
            break; /* stopping, and every queued job is done */
        }
        /* Take up to max_batch jobs: those that queued while the last commit synced. */
        batch = last = db->head;
        while (last->next && n < db->opt.max_batch) {
            last = last->next;
            n++;
        }
        db->head = last->next;
        if (!db->head) {
            db->tail = NULL;
        }
        last->next = NULL;
        pthread_mutex_unlock(&db->lock);

        run_batch(db, batch);

        /* Wake the first caller of this batch only: each caller wakes the next one
           (cg_db_write), so the writer is back at work after one wake-up rather than one
           per job, and no other request is woken. batch belongs to its waiting caller: do
           not touch it after this. */
        sem_post(&batch->done);
        pthread_mutex_lock(&db->lock);
    }
    pthread_mutex_unlock(&db->lock);
    return NULL;
}

int cg_db_write(struct cg_db *db, cg_db_write_fn *fn, void *ctx, struct cg_error *err)
{
    struct write_job job = {.fn = fn, .ctx = ctx, .err = err};
    int64_t t0 = cg_time_mono_ns();

    sem_init(&job.done, 0, 0);
    pthread_mutex_lock(&db->lock);
    if (db->stopping) {
        pthread_mutex_unlock(&db->lock);
        sem_destroy(&job.done);
        return cg_error_set(err, CG_ESHUTDOWN, "the database is closing");
    }
    if (db->tail) {
        db->tail->next = &job;
    } else {
        db->head = &job;
    }
    db->tail = &job;
    pthread_cond_signal(&db->queue_cond);
    pthread_mutex_unlock(&db->lock);
    while (sem_wait(&job.done) && errno == EINTR) {
    }
    if (job.next) {
        sem_post(&job.next->done); /* the next caller of the batch (writer_main) */
    }
    sem_destroy(&job.done);
    /* The writer thread did the work; the waiting request is charged the wall time. */
    thread_db_ns += (uint64_t)(cg_time_mono_ns() - t0);
    return job.rc;
}

/* ---- open, close, administration -------------------------------------------------------- */

int cg_db_open(const struct cg_db_options *opt, struct cg_db **out_db, struct cg_error *err)
{
    const struct cg_db_driver *drv = cg_db__driver(opt->backend);
    struct cg_db *db;
    int rc;

    if (!drv) {
        return cg_error_set(err, CG_EINVAL, "unknown database backend '%s'", opt->backend);
    }
    db = cg_calloc(1, sizeof(*db));
    db->drv = drv;
    db->opt = *opt;
    db->path = cg_strdup(opt->path);
    db->opt.path = db->path;
    if (db->opt.max_batch < 1) {
        db->opt.max_batch = 1;
    }
    pthread_mutex_init(&db->lock, NULL);
    pthread_cond_init(&db->queue_cond, NULL);
    pthread_key_create(&db->reader_key, reader_release);

    rc = conn_open(db, true, &db->writer, err);
    if (rc) {
        goto fail;
    }
    if (opt->migrate) {
        rc = cg_db_migrate(db, NULL, err);
        if (rc) {
            goto fail;
        }
    }
    if (pthread_create(&db->writer_thread, NULL, writer_main, db)) {
        rc = cg_error_set(err, CG_EINTERNAL, "cannot start the database writer thread");
        goto fail;
    }
    *out_db = db;
    return 0;

fail:
    db->writer_thread = 0;
    db->stopping = true;
    cg_db_close(db);
    return rc;
}

void cg_db_close(struct cg_db *db)
{
    struct cg_conn *c;

    if (!db) {
        return;
    }
    pthread_mutex_lock(&db->lock);
    bool started = !db->stopping;
    db->stopping = true;
    pthread_cond_signal(&db->queue_cond);
    pthread_mutex_unlock(&db->lock);
    if (started) {
        pthread_join(db->writer_thread, NULL);
    }
    pthread_key_delete(db->reader_key);
    while ((c = db->conns)) {
        db->conns = c->next;
        conn_free(c);
    }
    pthread_cond_destroy(&db->queue_cond);
    pthread_mutex_destroy(&db->lock);
    free(db->path);
    free(db);
}

int cg_db_info(struct cg_db *db, struct cg_db_info *out_info, struct cg_error *err)
{
    struct cg_conn *c;
    int rc = cg_db_reader(db, &c, err);

    if (rc) {
        return rc;
    }
    memset(out_info, 0, sizeof(*out_info));
    snprintf(out_info->backend, sizeof(out_info->backend), "%s", db->drv->name);
    snprintf(out_info->path, sizeof(out_info->path), "%s", db->path);
    out_info->schema_latest = (int)cg_migrations_count;
    return db->drv->xInfo(c->h, db->path, out_info, err);
}

int cg_db_check(struct cg_db *db, struct cg_str *problems, struct cg_error *err)
{
    struct cg_conn *c;
    struct cg_db_info info;
    int rc = cg_db_reader(db, &c, err);
    int found = 0;

    if (rc) {
        return rc;
    }
    rc = db->drv->xCheck(c->h, problems, err);
    if (rc == CG_ECONFLICT) {
        found = 1;
    } else if (rc) {
        return rc;
    }
    rc = cg_db_info(db, &info, err);
    if (rc) {
        return rc;
    }
    if (info.schema_version != info.schema_latest) {
        found = 1;
        if (problems) {
            cg_str_addf(problems, "schema version %d, this binary expects %d\n",
                        info.schema_version, info.schema_latest);
        }
    }
    return found ? CG_ECONFLICT : 0;
}

int cg_db_backup(struct cg_db *db, const char *dest_path, struct cg_error *err)
{
    struct cg_conn *c;
    int rc = cg_db_reader(db, &c, err);

    return rc ? rc : db->drv->xBackup(c->h, dest_path, err);
}

int cg_db_restore(const char *src_path, const char *db_path, struct cg_error *err)
{
    return cg_db__sqlite_driver.xRestore(src_path, db_path, err);
}

void cg_db_stats(struct cg_db *db, struct cg_db_stats *out_stats)
{
    out_stats->commits = atomic_load(&db->commits);
    out_stats->write_jobs = atomic_load(&db->write_jobs);
    out_stats->write_failures = atomic_load(&db->write_failures);
    out_stats->db_ns = atomic_load(&db->db_ns);
}

/* ---- migrations ------------------------------------------------------------------------- */

struct migrate_ctx {
    const struct cg_migration *m;
};

static int current_version(struct cg_conn *c, int *out_version, struct cg_error *err)
{
    int64_t v = 0;
    int rc = cg_db_exec(c,
                        "CREATE TABLE IF NOT EXISTS schema_migration ("
                        " version INTEGER PRIMARY KEY,"
                        " name TEXT NOT NULL,"
                        " applied_at TEXT NOT NULL)",
                        err);

    if (rc) {
        return rc;
    }
    rc =
        cg_db_query_int64(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migration", &v, err, "");
    if (!rc) {
        *out_version = (int)v;
    }
    return rc;
}

static int apply_one(struct cg_conn *w, const struct cg_migration *m, struct cg_error *err)
{
    struct cg_stmt *st = NULL;
    char now[CG_TIME_ISO_LEN];
    int rc = cg_db_exec(w, w->db->drv->begin_write_sql, err);

    if (rc) {
        return rc;
    }
    rc = cg_db_exec(w, m->sql, err);
    if (!rc) {
        rc = cg_db_prepare(w,
                           "INSERT INTO schema_migration(version, name, applied_at)"
                           " VALUES (?1, ?2, ?3)",
                           &st, err);
    }
    if (!rc) {
        cg_time_iso(cg_time_now_ms(), now, sizeof(now));
        (void)cg_db_bind_int64(st, 1, m->version);
        (void)cg_db_bind_text(st, 2, m->name, strlen(m->name));
        (void)cg_db_bind_text(st, 3, now, strlen(now));
        rc = cg_db_step_done(st, err);
        cg_db_finalize(st);
    }
    if (!rc) {
        rc = cg_db_exec(w, "COMMIT", err);
    }
    if (rc) {
        struct cg_error ignored = CG_ERROR_INIT;

        (void)cg_db_exec(w, "ROLLBACK", &ignored);
        if (err && err->code) {
            char detail[CG_ERROR_MSG_MAX];

            snprintf(detail, sizeof(detail), "%s", err->message);
            cg_error_clear(err);
            cg_error_set(err, rc, "migration %04d_%s failed: %s", m->version, m->name, detail);
        }
    }
    return rc;
}

/*
 * Migrations run on the write connection. Before the writer thread starts this
 * is direct; afterwards (civgrid migrate on an open db) it would race the
 * writer, so cg_db_migrate is only called from cg_db_open or by tools that
 * opened with migrate = false and have queued no writes.
 */
int cg_db_migrate(struct cg_db *db, int *out_applied, struct cg_error *err)
{
    int version = 0, applied = 0;
    int rc = current_version(db->writer, &version, err);

    if (rc) {
        return rc;
    }
    if (version > (int)cg_migrations_count) {
        return cg_error_set(err, CG_ECONFLICT,
                            "database schema version %d is newer than this civgrid (%d): "
                            "upgrade civgrid",
                            version, (int)cg_migrations_count);
    }
    for (size_t i = 0; i < cg_migrations_count; i++) {
        const struct cg_migration *m = &cg_migrations[i];

        CG_ASSERT(m->version == (int)i + 1);
        if (m->version <= version) {
            continue;
        }
        rc = apply_one(db->writer, m, err);
        if (rc) {
            return rc;
        }
        applied++;
    }
    if (out_applied) {
        *out_applied = applied;
    }
    return 0;
}
