/*
 * staff.c: the rules of grid staffing, duty lists and retiring a grid
 * (grid.h); their SQL is in staff_store.c.
 */
#include "base/cg.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/str.h"
#include "domain/auth/auth.h"
#include "domain/grid/grid_int.h"
#include "domain/pii/pii.h"

#define STAFF_NAME_MAX 32
#define DUTY_ITEMS_MAX 100
#define DUTY_TEXT_MAX 200

static bool one_of(const char *s, const char *const *choices)
{
    for (size_t i = 0; s && choices[i]; i++) {
        if (!strcmp(s, choices[i])) {
            return true;
        }
    }
    return false;
}

/* The grid code must be in the actor's scope for permission; else the grid "does not exist". */
static int in_scope(const struct cg_principal *actor, const char *permission, const char *code,
                    struct cg_error *err)
{
    struct cg_auth_object obj = {.grid_code = code};

    if (actor && cg_auth_allow(actor, permission, &obj, err)) {
        cg_error_clear(err);
        return cg_error_field(err, CG_ENOTFOUND, "code", "no grid '%.20s'", code);
    }
    return 0;
}

int cg_grid_staff_create(struct cg_db *db, struct cg_pii_keys *keys,
                         const struct cg_principal *actor, const struct cg_grid_staff_input *in,
                         const char *remote, int64_t *out_id, struct cg_error *err)
{
    static const char *const employments[] = {"full_time", "part_time", NULL};
    struct cg_grid__staff_row row = {0};
    char phone[CG_PII_NORM_MIN];
    size_t n = in->name ? cg_utf8_count(in->name, strlen(in->name)) : 0;
    int rc;

    if (n < 1 || n > STAFF_NAME_MAX) {
        return cg_error_field(err, in->name ? CG_EINVAL : CG_EMISSING, "name",
                              "'name' must be 1 to %d characters", STAFF_NAME_MAX);
    }
    if (!one_of(in->employment, employments)) {
        return cg_error_field(err, in->employment ? CG_EINVAL : CG_EMISSING, "employment",
                              "'employment' must be full_time (专职) or part_time (兼职)");
    }
    snprintf(row.name, sizeof(row.name), "%s", in->name);
    row.employment = in->employment;
    if (in->phone && *in->phone) {
        struct cg_error perr = CG_ERROR_INIT;

        if (cg_pii_normalize_phone(in->phone, phone, sizeof(phone), &perr)) {
            return cg_error_field(err, CG_EINVAL, "phone", "%s", perr.message);
        }
        rc = cg_pii_encrypt(keys, "phone", phone, strlen(phone), &row.phone_enc, err);
        if (rc) {
            return rc;
        }
        cg_pii_blind_index(keys, "phone", phone, row.phone_idx);
        cg_pii_mask_phone(phone, row.phone_mask, sizeof(row.phone_mask));
    }
    rc = cg_grid__staff_insert(db, &row, in->account_id, actor, remote, out_id, err);
    free(row.phone_enc);
    return rc;
}

int cg_grid_staff_assign(struct cg_db *db, const struct cg_principal *actor, const char *code,
                         int64_t staff_id, const char *role, const char *remote,
                         struct cg_error *err)
{
    static const char *const roles[] = {"worker", "leader", "guide", NULL};
    int rc = in_scope(actor, "grid.staff", code, err);

    if (rc) {
        return rc;
    }
    if (!one_of(role, roles)) {
        return cg_error_field(err, role ? CG_EINVAL : CG_EMISSING, "role",
                              "'role' must be worker (网格员), leader (网格长) or guide (指导员)");
    }
    return cg_grid__staff_assign(db, actor, code, staff_id, role, remote, err);
}

int cg_grid_staff_unassign(struct cg_db *db, const struct cg_principal *actor, const char *code,
                           int64_t staff_id, const char *role, const char *remote,
                           struct cg_error *err)
{
    static const char *const roles[] = {"worker", "leader", "guide", NULL};
    int rc = in_scope(actor, "grid.staff", code, err);

    if (rc) {
        return rc;
    }
    if (role && !one_of(role, roles)) {
        return cg_error_field(err, CG_EINVAL, "role", "'role' must be worker, leader or guide");
    }
    return cg_grid__staff_unassign(db, actor, code, staff_id, role, remote, err);
}

int cg_grid_retire(struct cg_db *db, const struct cg_principal *actor, const char *code,
                   const char *remote, struct cg_error *err)
{
    int rc = in_scope(actor, "grid.manage", code, err);

    return rc ? rc : cg_grid__retire(db, actor, code, remote, err);
}

/* Checks a duty list (array of {"text", "standard_ref"?}). */
static int check_items(json_t *items, const char *field, struct cg_error *err)
{
    static const char *const keys[] = {"text", "standard_ref", NULL};
    size_t i;
    json_t *it;

    if (!json_is_array(items)) {
        return cg_error_field(err, items ? CG_ETYPE : CG_EMISSING, field,
                              "'%s' must be a list of {\"text\": ...} items", field);
    }
    if (json_array_size(items) > DUTY_ITEMS_MAX) {
        return cg_error_field(err, CG_EINVAL, field, "'%s' has more than %d items", field,
                              DUTY_ITEMS_MAX);
    }
    json_array_foreach(items, i, it)
    {
        const char *text = NULL, *ref = NULL;
        int rc;

        if (!json_is_object(it)) {
            return cg_error_field(err, CG_ETYPE, field, "item %zu of '%s' is not an object", i,
                                  field);
        }
        rc = cg_json_only_keys(it, keys, err);
        rc = rc ? rc : cg_json_get_string(it, "text", true, 1, DUTY_TEXT_MAX, false, &text, err);
        rc = rc ? rc : cg_json_get_string(it, "standard_ref", false, 1, 80, false, &ref, err);
        if (rc) {
            return rc;
        }
    }
    return 0;
}

int cg_grid_duties_set(struct cg_db *db, const struct cg_principal *actor, const char *kind,
                       json_t *duties, json_t *admissible, const char *remote, struct cg_error *err)
{
    static const char *const sectors[] = {
        "sector:school",     "sector:hospital",   "sector:market", "sector:park",
        "sector:enterprise", "sector:government", "sector:other",  NULL};
    int rc;

    if (!kind || (strcmp(kind, "territorial") && !one_of(kind, sectors))) {
        return cg_error_field(err, CG_ENOTFOUND, "kind",
                              "no grid kind '%.30s': territorial or sector:<school, hospital, "
                              "market, park, enterprise, government, other>",
                              kind ? kind : "");
    }
    rc = check_items(duties, "duties", err);
    rc = rc ? rc : check_items(admissible, "admissible", err);
    return rc ? rc : cg_grid__duties_replace(db, actor, kind, duties, admissible, remote, err);
}
