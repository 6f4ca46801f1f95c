/*
 * patrol_feed.c: the position side of the live map (docs/LIVE.md): who may
 * see a worker's position, and the compact JSON the browsers get. The rows
 * come from patrol_feed_store.c.
 */
#include "base/cg.h"
#include "domain/patrol/patrol.h"
#include "base/time.h"
#include "domain/auth/auth.h"

bool cg_patrol_feed_visible(const struct cg_principal *p, const struct cg_patrol_feed_item *it)
{
    /* By the worker's grid; a department scope follows events, not people. */
    struct cg_auth_object obj = {it->grid_code, NULL, it->account_id};

    return !cg_auth_allow(p, "live.read", &obj, NULL);
}

json_t *cg_patrol_feed_json(const struct cg_patrol_feed_item *it)
{
    char at[CG_TIME_ISO_LEN];

    cg_time_iso(it->t_ms, at, sizeof(at));
    return json_pack("{s:I, s:s, s:f, s:f, s:s, s:s, s:b}", "account_id",
                     (json_int_t)it->account_id, "name", it->name, "lon", it->lon, "lat", it->lat,
                     "at", at, "grid", it->grid_code, "on_duty", it->on_duty);
}
