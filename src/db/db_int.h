/*
 * db_int.h: private to src/db. The backend driver interface (an SQLite-VFS-style
 * table of x* functions) and the embedded migrations. db.c holds everything that
 * is the same for every backend: the writer thread, the reader connections and
 * the statement cache; db_<backend>.c holds only what talks to the library.
 */
#ifndef CG_DB_INT_H
#define CG_DB_INT_H

#include "base/cg.h"
#include "db/db.h"

struct cg_str;

struct cg_db_driver {
    const char *name;
    const char *begin_write_sql; /* starts a write transaction that takes the write lock now */

    /* Opens a connection; writer says whether it is the one write connection. */
    int (*xOpen)(const struct cg_db_options *opt, bool writer, void **out_h, struct cg_error *err);
    void (*xClose)(void *h);
    int (*xExec)(void *h, const char *sql, struct cg_error *err);
    int64_t (*xLastInsertId)(void *h);
    int64_t (*xChanges)(void *h);

    int (*xPrepare)(void *h, const char *sql, void **out_st, struct cg_error *err);
    void (*xReset)(void *st);
    int (*xParamCount)(void *st);
    void (*xFinalize)(void *st);
    int (*xBindInt64)(void *st, int idx, int64_t v);
    int (*xBindDouble)(void *st, int idx, double v);
    int (*xBindText)(void *st, int idx, const char *s, size_t len);
    int (*xBindBlob)(void *st, int idx, const void *p, size_t len);
    int (*xBindNull)(void *st, int idx);
    int (*xStep)(void *st, struct cg_error *err);
    int64_t (*xColumnInt64)(void *st, int idx);
    double (*xColumnDouble)(void *st, int idx);
    const char *(*xColumnText)(void *st, int idx);
    size_t (*xColumnBytes)(void *st, int idx);
    bool (*xColumnIsNull)(void *st, int idx);

    /* Administration. */
    int (*xInfo)(void *h, const char *path, struct cg_db_info *info, struct cg_error *err);
    int (*xCheck)(void *h, struct cg_str *problems, struct cg_error *err);
    int (*xBackup)(void *h, const char *dest_path, struct cg_error *err);
    int (*xRestore)(const char *src_path, const char *db_path, struct cg_error *err);
};

extern const struct cg_db_driver cg_db__sqlite_driver;

/* Finds the driver called name, or NULL. */
const struct cg_db_driver *cg_db__driver(const char *name);

/* One schema step, generated from src/db/migrations/NNNN_name.sql by tools/embed-sql.sh. */
struct cg_migration {
    int version;
    const char *name;
    const char *sql;
};
extern const struct cg_migration cg_migrations[];
extern const size_t cg_migrations_count;

#endif
