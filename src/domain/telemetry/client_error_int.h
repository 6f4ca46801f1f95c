/*
 * client_error_int.h: private to the telemetry module: its store functions.
 */
#ifndef CG_CLIENT_ERROR_INT_H
#define CG_CLIENT_ERROR_INT_H

#include "domain/telemetry/client_error.h"

/* Inserts a checked report and trims the table to CG_CLIENT_ERROR_KEEP rows, in one write. */
int cg_client_error__insert(struct cg_db *db, const struct cg_client_error *in, int64_t *out_id,
                            struct cg_error *err);

#endif
