/*
 * db_sqlite.c: the SQLite backend of the store (the embedded default).
 *
 * Every connection runs in WAL mode with foreign keys on and the configured
 * synchronous level (FULL by default: a commit is on disk before it returns).
 * Reader connections are query_only, so a write can only come through the
 * writer thread of db.c. SQLite result codes stop here: callers see CG_E*.
 */
#include "base/cg.h"
#include "base/str.h"
#include "db/db.h"
#include "db/db_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

/* Maps an SQLite result code to a CG_E* and records the library's message. */
static int map_rc(sqlite3 *h, int src, struct cg_error *err)
{
    int code;

    switch (src & 0xff) {
    case SQLITE_CONSTRAINT:
        code = CG_ECONFLICT;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = CG_EBUSY;
        break;
    case SQLITE_NOMEM:
        code = CG_ENOMEM;
        break;
    case SQLITE_CANTOPEN:
        code = CG_ENOTFOUND;
        break;
    case SQLITE_IOERR:
    case SQLITE_FULL:
        code = CG_EIO;
        break;
    default:
        code = CG_EDB;
        break;
    }
    return cg_error_set(err, code, "%s", h ? sqlite3_errmsg(h) : sqlite3_errstr(src));
}

static int sq_exec(void *h, const char *sql, struct cg_error *err)
{
    int rc = sqlite3_exec(h, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : map_rc(h, rc, err);
}

/*
 * Process-wide library settings, made once before the first connection. Without memory
 * statistics sqlite3_malloc() takes no global mutex: with a reader connection per HTTP
 * worker, that mutex was the most contended lock of the server. (Fails harmlessly when
 * another part of the process has already initialized the library.)
 */
static void sq_configure(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_open(const struct cg_db_options *opt, bool writer, void **out_h, struct cg_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    sqlite3 *h = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    char pragmas[256];
    int rc;

    pthread_once(&once, sq_configure);
    if (writer && opt->create) {
        flags |= SQLITE_OPEN_CREATE;
    }
    rc = sqlite3_open_v2(opt->path, &h, flags, NULL);
    if (rc != SQLITE_OK) {
        if (rc == SQLITE_CANTOPEN && !opt->create) {
            cg_error_set(err, CG_ENOTFOUND, "no database at '%s' (run 'civgrid init')", opt->path);
        } else {
            cg_error_set(err, CG_EIO, "cannot open database '%s': %s", opt->path,
                         h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        }
        sqlite3_close_v2(h);
        return err && err->code ? err->code : CG_EIO;
    }
    sqlite3_extended_result_codes(h, 1);
    sqlite3_busy_timeout(h, opt->busy_timeout_ms);
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA foreign_keys = ON; PRAGMA synchronous = %s; PRAGMA temp_store = MEMORY;"
             "%s",
             opt->sync == CG_DB_SYNC_FULL ? "FULL" : "NORMAL",
             writer ? "PRAGMA journal_mode = WAL; PRAGMA cache_size = -65536;"
                    : "PRAGMA query_only = 1;");
    rc = sq_exec(h, pragmas, err);
    if (rc) {
        sqlite3_close_v2(h);
        return rc;
    }
    *out_h = h;
    return 0;
}

static void sq_close(void *h)
{
    sqlite3_close_v2(h);
}

static int64_t sq_last_insert_id(void *h)
{
    return sqlite3_last_insert_rowid(h);
}

static int64_t sq_changes(void *h)
{
    return sqlite3_changes64(h);
}

static int sq_prepare(void *h, const char *sql, void **out_st, struct cg_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);

    if (rc != SQLITE_OK) {
        return map_rc(h, rc, err);
    }
    *out_st = st;
    return 0;
}

static void sq_reset(void *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static int sq_param_count(void *st)
{
    return sqlite3_bind_parameter_count(st);
}

static void sq_finalize(void *st)
{
    sqlite3_finalize(st);
}

static int bind_rc(int rc)
{
    return rc == SQLITE_OK ? 0 : CG_EDB;
}

static int sq_bind_int64(void *st, int idx, int64_t v)
{
    return bind_rc(sqlite3_bind_int64(st, idx, v));
}

static int sq_bind_double(void *st, int idx, double v)
{
    return bind_rc(sqlite3_bind_double(st, idx, v));
}

static int sq_bind_text(void *st, int idx, const char *s, size_t len)
{
    return bind_rc(sqlite3_bind_text64(st, idx, s, len, SQLITE_TRANSIENT, SQLITE_UTF8));
}

static int sq_bind_blob(void *st, int idx, const void *p, size_t len)
{
    return bind_rc(sqlite3_bind_blob64(st, idx, p, len, SQLITE_TRANSIENT));
}

static int sq_bind_null(void *st, int idx)
{
    return bind_rc(sqlite3_bind_null(st, idx));
}

static int sq_step(void *st, struct cg_error *err)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        return CG_DB_ROW;
    }
    if (rc == SQLITE_DONE) {
        return CG_DB_DONE;
    }
    return map_rc(sqlite3_db_handle(st), rc, err);
}

static int64_t sq_column_int64(void *st, int idx)
{
    return sqlite3_column_int64(st, idx);
}

static double sq_column_double(void *st, int idx)
{
    return sqlite3_column_double(st, idx);
}

static const char *sq_column_text(void *st, int idx)
{
    return (const char *)sqlite3_column_text(st, idx);
}

static size_t sq_column_bytes(void *st, int idx)
{
    return (size_t)sqlite3_column_bytes(st, idx);
}

static bool sq_column_is_null(void *st, int idx)
{
    return sqlite3_column_type(st, idx) == SQLITE_NULL;
}

/* Runs a one-value query (a pragma) and copies its text result into buf. */
static int query_text(sqlite3 *h, const char *sql, char *buf, size_t size, struct cg_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);

    if (rc != SQLITE_OK) {
        return map_rc(h, rc, err);
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);

        snprintf(buf, size, "%s", t ? (const char *)t : "");
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        buf[0] = '\0';
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : map_rc(h, rc, err);
}

static int64_t file_size(const char *path)
{
    struct stat sb;

    return stat(path, &sb) ? 0 : (int64_t)sb.st_size;
}

static int sq_info(void *h, const char *path, struct cg_db_info *info, struct cg_error *err)
{
    char buf[32], wal[600];
    int rc =
        query_text(h, "PRAGMA journal_mode", info->journal_mode, sizeof(info->journal_mode), err);

    if (!rc) {
        rc = query_text(h, "SELECT COALESCE(MAX(version), 0) FROM schema_migration", buf,
                        sizeof(buf), err);
    }
    if (rc) {
        return rc;
    }
    info->schema_version = (int)strtol(buf, NULL, 10);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    info->size_bytes = file_size(path) + file_size(wal);
    return 0;
}

static int sq_check(void *h, struct cg_str *problems, struct cg_error *err)
{
    static const char *const checks[] = {"PRAGMA integrity_check", "PRAGMA foreign_key_check"};
    int found = 0;

    for (size_t i = 0; i < CG_ARRAY_LEN(checks); i++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(h, checks[i], -1, &st, NULL);

        if (rc != SQLITE_OK) {
            return map_rc(h, rc, err);
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(st, 0);

            if (i == 0 && t && !strcmp(t, "ok")) {
                continue;
            }
            found = 1;
            if (problems && i == 0) {
                cg_str_addf(problems, "integrity: %s\n", t ? t : "?");
            } else if (problems) {
                cg_str_addf(problems, "foreign key: table '%s' row %lld refers to missing '%s'\n",
                            t ? t : "?", (long long)sqlite3_column_int64(st, 1),
                            (const char *)sqlite3_column_text(st, 2));
            }
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            return map_rc(h, rc, err);
        }
    }
    return found ? CG_ECONFLICT : 0;
}

/* Copies every page from src to dst with the online backup API, in steps. */
static int copy_db(sqlite3 *src, sqlite3 *dst, struct cg_error *err)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    int rc;

    if (!b) {
        return map_rc(dst, sqlite3_errcode(dst), err);
    }
    do {
        rc = sqlite3_backup_step(b, 256);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
            sqlite3_sleep(10);
        }
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        return map_rc(dst, rc, err);
    }
    return 0;
}

static int sq_backup(void *h, const char *dest_path, struct cg_error *err)
{
    sqlite3 *dst = NULL;
    char tmp[1024];
    int rc;

    /* Write to a temporary name and rename, so a failed backup never leaves a torn file. */
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.partial", dest_path) >= sizeof(tmp)) {
        return cg_error_set(err, CG_EINVAL, "backup path too long");
    }
    unlink(tmp);
    rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        cg_error_set(err, CG_EIO, "cannot create backup '%s': %s", dest_path,
                     dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
        sqlite3_close_v2(dst);
        return CG_EIO;
    }
    /* A reader connection is query_only; the backup only reads from it. */
    rc = copy_db(h, dst, err);
    if (!rc) {
        rc = sq_exec(dst, "PRAGMA journal_mode = DELETE", err);
    }
    sqlite3_close_v2(dst);
    if (!rc && rename(tmp, dest_path)) {
        rc = cg_error_set(err, CG_EIO, "cannot rename backup to '%s': %s", dest_path,
                          strerror(errno));
    }
    if (rc) {
        unlink(tmp);
    }
    return rc;
}

static int sq_restore(const char *src_path, const char *db_path, struct cg_error *err)
{
    sqlite3 *src = NULL, *dst = NULL;
    struct cg_str problems = CG_STR_INIT;
    char version[32];
    int rc = sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL);

    if (rc != SQLITE_OK) {
        cg_error_set(err, CG_ENOTFOUND, "cannot open backup '%s': %s", src_path,
                     src ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
        rc = CG_ENOTFOUND;
        goto out;
    }
    rc = query_text(src, "SELECT COUNT(*) FROM schema_migration", version, sizeof(version), err);
    if (rc) {
        cg_error_clear(err);
        rc = cg_error_set(err, CG_EINVAL, "'%s' is not a civgrid database backup", src_path);
        goto out;
    }
    rc = sq_check(src, &problems, err);
    if (rc == CG_ECONFLICT) {
        cg_error_set(err, CG_ECONFLICT, "backup '%s' is damaged: %s", src_path,
                     cg_str_ptr(&problems));
        goto out;
    } else if (rc) {
        cg_error_clear(err);
        rc = cg_error_set(err, CG_EINVAL, "'%s' is not a civgrid database backup", src_path);
        goto out;
    }
    rc = sqlite3_open_v2(db_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        cg_error_set(err, CG_EIO, "cannot open database '%s': %s", db_path,
                     dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
        rc = CG_EIO;
        goto out;
    }
    /* The backup API replaces the destination in one transaction: all or nothing. */
    rc = copy_db(src, dst, err);
    if (!rc) {
        rc = sq_exec(dst, "PRAGMA journal_mode = WAL", err);
    }
out:
    cg_str_release(&problems);
    sqlite3_close_v2(dst);
    sqlite3_close_v2(src);
    return rc;
}

const struct cg_db_driver cg_db__sqlite_driver = {
    .name = "sqlite",
    .begin_write_sql = "BEGIN IMMEDIATE",
    .xOpen = sq_open,
    .xClose = sq_close,
    .xExec = sq_exec,
    .xLastInsertId = sq_last_insert_id,
    .xChanges = sq_changes,
    .xPrepare = sq_prepare,
    .xReset = sq_reset,
    .xParamCount = sq_param_count,
    .xFinalize = sq_finalize,
    .xBindInt64 = sq_bind_int64,
    .xBindDouble = sq_bind_double,
    .xBindText = sq_bind_text,
    .xBindBlob = sq_bind_blob,
    .xBindNull = sq_bind_null,
    .xStep = sq_step,
    .xColumnInt64 = sq_column_int64,
    .xColumnDouble = sq_column_double,
    .xColumnText = sq_column_text,
    .xColumnBytes = sq_column_bytes,
    .xColumnIsNull = sq_column_is_null,
    .xInfo = sq_info,
    .xCheck = sq_check,
    .xBackup = sq_backup,
    .xRestore = sq_restore,
};
