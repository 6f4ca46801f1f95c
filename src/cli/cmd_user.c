/*
 * cmd_user.c: accounts from the command line: civgrid user add|list|passwd|
 * disable|enable|unlock|role|demo. The CLI acts as the machine's administrator
 * (whoever can run it can read the database file anyway); every change still
 * goes through the accounts module's rules and into the audit log as "(cli)".
 */
#include "base/cg.h"
#include "app/app.h"
#include "base/str.h"
#include "cli/cli.h"
#include "db/db.h"
#include "domain/auth/auth.h"
#include "domain/grid/grid.h"
#include "domain/pii/pii.h"

#include <sodium.h>
#include <sys/stat.h>

struct user_env {
    struct cg_db *db;
    struct cg_pii_keys *keys;
    struct cg_auth *auth;
};

static int env_open(struct cli_ctx *ctx, bool create_keys, struct user_env *env)
{
    struct cg_auth_policy policy;
    struct cg_error err = CG_ERROR_INIT;
    bool created = false;
    int rc = cli_open_db(ctx, false, true, &env->db);

    if (rc) {
        return rc;
    }
    if (cg_app_load_keys(&ctx->cfg, create_keys, &created, &env->keys, &err)) {
        cli_error(ctx, "%s", err.message);
        cg_db_close(env->db);
        return CLI_FAIL;
    }
    if (created) {
        fprintf(stderr, "civgrid %s: created key file '%s': back it up apart from the database\n",
                ctx->cmd, ctx->cfg.pii_key_file);
    }
    cg_app_auth_policy(&ctx->cfg, &policy);
    env->auth = cg_auth_new(env->db, env->keys, &policy);
    return CLI_OK;
}

static void env_close(struct user_env *env)
{
    cg_auth_free(env->auth);
    cg_db_close(env->db);
    cg_pii_keys_free(env->keys);
}

/* A random password that meets the rules: 4 groups of 4 from mixed classes. */
static void random_password(char out[20])
{
    static const char *const sets[] = {"abcdefghijkmnpqrstuvwxyz", "ABCDEFGHJKLMNPQRSTUVWXYZ",
                                       "23456789"};
    int k = 0;

    for (int g = 0; g < 4; g++) {
        for (int i = 0; i < 4; i++) {
            const char *set = sets[(g + i) % 3];

            out[k++] = set[randombytes_uniform((uint32_t)strlen(set))];
        }
        if (g < 3) {
            out[k++] = '-';
        }
    }
    out[k] = '\0';
}

static int read_password_line(char *buf, size_t size)
{
    size_t n;

    if (!fgets(buf, (int)size, stdin)) {
        return -1;
    }
    n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    return 0;
}

/* Options of the form "--name VALUE"; returns the value or NULL, consuming both words. */
struct opts {
    const char *name, *scope, *phone, *status, *grid, *out;
    const char *roles[CG_AUTH_MAX_ROLES];
    int n_roles;
    bool password_stdin;
    const char *pos[4];
    int n_pos;
};

static int parse_opts(struct cli_ctx *ctx, int argc, char **argv, const char *help, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            return -1;
        }
        if (!strcmp(a, "--password-stdin")) {
            o->password_stdin = true;
            continue;
        }
        if (!strcmp(a, "--name")) {
            slot = &o->name;
        } else if (!strcmp(a, "--scope")) {
            slot = &o->scope;
        } else if (!strcmp(a, "--phone")) {
            slot = &o->phone;
        } else if (!strcmp(a, "--status")) {
            slot = &o->status;
        } else if (!strcmp(a, "--grid")) {
            slot = &o->grid;
        } else if (!strcmp(a, "--out")) {
            slot = &o->out;
        } else if (!strcmp(a, "--role")) {
            if (o->n_roles == CG_AUTH_MAX_ROLES) {
                cli_error(ctx, "at most %d roles", CG_AUTH_MAX_ROLES);
                return CLI_USAGE;
            }
            slot = &o->roles[o->n_roles++];
        } else if (a[0] == '-' && a[1]) {
            cli_error(ctx, "unknown option '%s' (see 'civgrid user --help')", a);
            return CLI_USAGE;
        } else {
            if (o->n_pos == (int)CG_ARRAY_LEN(o->pos)) {
                cli_error(ctx, "too many arguments");
                return CLI_USAGE;
            }
            o->pos[o->n_pos++] = a;
            continue;
        }
        if (i + 1 >= argc) {
            cli_error(ctx, "option '%s' needs a value", a);
            return CLI_USAGE;
        }
        *slot = argv[++i];
    }
    return 0;
}

static const char help_text[] =
    "usage: civgrid user add LOGIN --name NAME --role ROLE [--role ROLE] --scope SCOPE\n"
    "                        [--phone PHONE] [--password-stdin]\n"
    "       civgrid user list [--status STATUS] [--grid CODE]\n"
    "       civgrid user passwd LOGIN [--password-stdin]\n"
    "       civgrid user disable|enable|unlock LOGIN\n"
    "       civgrid user role LOGIN --role ROLE [--role ROLE] --scope SCOPE\n"
    "       civgrid user demo [--out FILE]\n\n"
    "Manages accounts. SCOPE is 'all', 'grid:<division or grid code>',\n"
    "'department:<name>' or 'own'. ROLE is one of: grid_worker grid_leader\n"
    "village_station duty_officer dispatcher dept_handler mediator hotline_operator\n"
    "leader citizen sys_admin sec_admin audit_admin. Without --password-stdin a\n"
    "random password is generated and printed once. 'demo' creates one account per\n"
    "role (those that do not exist yet) and writes their passwords to FILE\n"
    "(default demo-accounts.txt, mode 600); a demo grid worker joins the staff of\n"
    "its grid when the demo city is loaded.\n";

static int find_login(struct cli_ctx *ctx, struct user_env *env, const char *login, int64_t *id)
{
    struct cg_error err = CG_ERROR_INIT;

    if (cg_auth_account_find(env->auth, login, id, &err)) {
        cli_error(ctx, "%s", err.message);
        return CLI_FAIL;
    }
    return CLI_OK;
}

/*
 * The new password: the first line of standard input with --password-stdin,
 * else a random one (the caller prints it once). CLI_USAGE when stdin is empty.
 */
static int take_password(struct cli_ctx *ctx, const struct opts *o, char *buf, size_t size)
{
    if (!o->password_stdin) {
        CG_ASSERT(size >= 20);
        random_password(buf);
        return CLI_OK;
    }
    if (read_password_line(buf, size)) {
        cli_error(ctx, "no password on standard input");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int user_add(struct cli_ctx *ctx, struct user_env *env, struct opts *o)
{
    struct cg_account_input in = {0};
    struct cg_error err = CG_ERROR_INIT;
    char ref[64], password[160];
    int64_t id = 0;

    if (o->n_pos != 1 || !o->name || !o->n_roles || !o->scope) {
        cli_error(ctx, "add needs LOGIN, --name, --role and --scope");
        return CLI_USAGE;
    }
    if (cg_auth_parse_scope(o->scope, &in.scope_kind, ref, sizeof(ref), &err)) {
        cli_error(ctx, "%s", err.message);
        return CLI_USAGE;
    }
    if (take_password(ctx, o, password, sizeof(password))) {
        return CLI_USAGE;
    }
    in.login = o->pos[0];
    in.display_name = o->name;
    in.password = password;
    in.phone = o->phone;
    in.scope_ref = ref;
    memcpy(in.roles, o->roles, sizeof(o->roles));
    in.n_roles = o->n_roles;
    if (cg_auth_account_create(env->auth, NULL, &in, "cli", &id, &err)) {
        cli_error(ctx, "%s", err.message);
        sodium_memzero(password, sizeof(password));
        return CLI_FAIL;
    }
    printf("created account %s (id %" PRId64 ")\n", in.login, id);
    if (!o->password_stdin) {
        printf("password: %s\n", password);
    }
    sodium_memzero(password, sizeof(password));
    return CLI_OK;
}

static int user_list(struct cli_ctx *ctx, struct user_env *env, struct opts *o)
{
    struct cg_principal all = {.scope_kind = CG_SCOPE_ALL};
    struct cg_account_query q = {.grid_prefix = o->grid, .status = o->status, .limit = 500};
    struct cg_error err = CG_ERROR_INIT;

    printf("%-6s %-24s %-10s %-28s %s\n", "id", "login", "status", "scope", "roles");
    for (;;) {
        json_t *list = NULL, *a;
        int64_t next = 0;
        size_t i;

        if (cg_auth_account_list(env->auth, &all, &q, &list, &next, &err)) {
            cli_error(ctx, "%s", err.message);
            return CLI_FAIL;
        }
        json_array_foreach(list, i, a)
        {
            struct cg_str roles = CG_STR_INIT_MAX(512);
            json_t *r;
            size_t j;

            json_array_foreach(json_object_get(a, "roles"), j, r)
            {
                cg_str_addf(&roles, "%s%s", j ? "," : "", json_string_value(r));
            }
            printf("%-6" JSON_INTEGER_FORMAT " %-24s %-10s %-28s %s\n",
                   json_integer_value(json_object_get(a, "id")),
                   json_string_value(json_object_get(a, "login")),
                   json_string_value(json_object_get(a, "status")),
                   json_string_value(json_object_get(a, "scope")), cg_str_ptr(&roles));
            cg_str_release(&roles);
        }
        json_decref(list);
        if (!next) {
            return CLI_OK;
        }
        q.after_id = next;
    }
}

static int user_passwd(struct cli_ctx *ctx, struct user_env *env, struct opts *o)
{
    struct cg_error err = CG_ERROR_INIT;
    char password[160];
    int64_t id = 0;
    int rc;

    if (o->n_pos != 1) {
        cli_error(ctx, "passwd needs LOGIN");
        return CLI_USAGE;
    }
    rc = find_login(ctx, env, o->pos[0], &id);
    if (rc) {
        return rc;
    }
    if (take_password(ctx, o, password, sizeof(password))) {
        return CLI_USAGE;
    }
    rc = cg_auth_account_set_password(env->auth, NULL, id, NULL, password, "cli", &err);
    if (rc) {
        cli_error(ctx, "%s", err.message);
    } else {
        printf("password of %s set; it must be changed at the next sign-in\n", o->pos[0]);
        if (!o->password_stdin) {
            printf("password: %s\n", password);
        }
    }
    sodium_memzero(password, sizeof(password));
    return rc ? CLI_FAIL : CLI_OK;
}

static int user_status(struct cli_ctx *ctx, struct user_env *env, struct opts *o,
                       const char *status)
{
    struct cg_error err = CG_ERROR_INIT;
    int64_t id = 0;
    int rc;

    if (o->n_pos != 1) {
        cli_error(ctx, "give one LOGIN");
        return CLI_USAGE;
    }
    rc = find_login(ctx, env, o->pos[0], &id);
    if (rc) {
        return rc;
    }
    if (cg_auth_account_set_status(env->auth, NULL, id, status, "user.disable", "cli", &err)) {
        cli_error(ctx, "%s", err.message);
        return CLI_FAIL;
    }
    printf("%s is now %s\n", o->pos[0], status);
    return CLI_OK;
}

static int user_role(struct cli_ctx *ctx, struct user_env *env, struct opts *o)
{
    struct cg_error err = CG_ERROR_INIT;
    enum cg_scope_kind kind;
    char ref[64];
    int64_t id = 0;
    int rc;

    if (o->n_pos != 1 || !o->n_roles || !o->scope) {
        cli_error(ctx, "role needs LOGIN, --role and --scope");
        return CLI_USAGE;
    }
    if (cg_auth_parse_scope(o->scope, &kind, ref, sizeof(ref), &err)) {
        cli_error(ctx, "%s", err.message);
        return CLI_USAGE;
    }
    rc = find_login(ctx, env, o->pos[0], &id);
    if (rc) {
        return rc;
    }
    if (cg_auth_account_set_roles(env->auth, NULL, id, o->roles, o->n_roles, kind, ref, "cli",
                                  &err)) {
        cli_error(ctx, "%s", err.message);
        return CLI_FAIL;
    }
    printf("roles of %s set\n", o->pos[0]);
    return CLI_OK;
}

/* One demo account per role, placed in the Guzhen (古镇镇, 442000105) demo town. */
static const struct {
    const char *login, *name, *role, *scope;
} demo_accounts[] = {
    {"demo.worker", "演示网格员（古镇社区第1网格）", "grid_worker", "grid:442000105001001"},
    {"demo.worker2", "演示网格员（冈东社区第1网格）", "grid_worker", "grid:442000105002001"},
    {"demo.gridleader", "演示网格长", "grid_leader", "grid:442000105001001"},
    {"demo.station", "演示村居工作站", "village_station", "grid:442000105001"},
    {"demo.duty", "演示值班长", "duty_officer", "grid:442000105"},
    {"demo.dispatcher", "演示派遣员", "dispatcher", "grid:442000105"},
    {"demo.handler", "演示部门处置人员（城管）", "dept_handler", "department:城管"},
    {"demo.mediator", "演示调解员", "mediator", "grid:442000105"},
    {"demo.hotline", "演示话务员", "hotline_operator", "grid:442000"},
    {"demo.leader", "演示镇领导", "leader", "grid:442000105"},
    {"demo.citizen", "演示市民", "citizen", "own"},
    {"demo.sysadmin", "演示系统管理员", "sys_admin", "all"},
    {"demo.secadmin", "演示安全管理员", "sec_admin", "all"},
    {"demo.auditadmin", "演示审计管理员", "audit_admin", "all"},
};

/*
 * A demo grid worker joins the staff roster of its grid when the demo city is
 * loaded, so that its scope follows the assignment as a real worker's does.
 */
static void link_demo_worker(struct cli_ctx *ctx, struct user_env *env,
                             const struct cg_account_input *in, int64_t account_id)
{
    struct cg_grid_staff_input staff = {in->display_name, NULL, "full_time", account_id};
    struct cg_error err = CG_ERROR_INIT;
    int64_t staff_id = 0;
    json_t *card = NULL;

    if (strcmp(in->roles[0], "grid_worker") ||
        cg_grid_get(env->db, NULL, in->scope_ref, NULL, &card, &err)) {
        return; /* no demo city, or no such grid: the account keeps its scope */
    }
    json_decref(card);
    if (cg_grid_staff_create(env->db, env->keys, NULL, &staff, "cli", &staff_id, &err) ||
        cg_grid_staff_assign(env->db, NULL, in->scope_ref, staff_id, "worker", "cli", &err)) {
        cli_error(ctx, "cannot put '%s' on the staff of grid %s: %s", in->login, in->scope_ref,
                  err.message);
    }
}

static int user_demo(struct cli_ctx *ctx, struct user_env *env, struct opts *o)
{
    const char *path = o->out ? o->out : "demo-accounts.txt";
    struct cg_error err = CG_ERROR_INIT;
    FILE *f;
    int created = 0;

    f = fopen(path, "a");
    if (!f) {
        cli_error(ctx, "cannot write '%s': %s", path, strerror(errno));
        return CLI_FAIL;
    }
    chmod(path, 0600);
    for (size_t i = 0; i < CG_ARRAY_LEN(demo_accounts); i++) {
        struct cg_account_input in = {0};
        char ref[64], password[20];
        int64_t id;

        if (!cg_auth_account_find(env->auth, demo_accounts[i].login, &id, &err)) {
            continue;
        }
        cg_error_clear(&err);
        random_password(password);
        in.login = demo_accounts[i].login;
        in.display_name = demo_accounts[i].name;
        in.password = password;
        in.roles[0] = demo_accounts[i].role;
        in.n_roles = 1;
        CG_ASSERT(
            !cg_auth_parse_scope(demo_accounts[i].scope, &in.scope_kind, ref, sizeof(ref), &err));
        in.scope_ref = ref;
        if (cg_auth_account_create(env->auth, NULL, &in, "cli", &id, &err)) {
            cli_error(ctx, "cannot create '%s': %s", in.login, err.message);
            fclose(f);
            return CLI_FAIL;
        }
        link_demo_worker(ctx, env, &in, id);
        fprintf(f, "%-18s %-16s %-22s %s\n", demo_accounts[i].role, in.login, password,
                demo_accounts[i].scope);
        printf("%-18s %-16s %-22s %s\n", demo_accounts[i].role, in.login, password,
               demo_accounts[i].scope);
        created++;
    }
    fclose(f);
    printf("%d demo account%s created; passwords are in %s\n", created, created == 1 ? "" : "s",
           path);
    return CLI_OK;
}

int cmd_user(struct cli_ctx *ctx, int argc, char **argv)
{
    struct user_env env = {0};
    struct opts o;
    const char *sub = argc ? argv[0] : NULL;
    int rc;

    if (!sub || !strcmp(sub, "-h") || !strcmp(sub, "--help")) {
        fputs(help_text, sub ? stdout : stderr);
        return sub ? CLI_OK : CLI_USAGE;
    }
    rc = parse_opts(ctx, argc - 1, argv + 1, help_text, &o);
    if (rc) {
        return rc < 0 ? CLI_OK : rc;
    }
    if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "passwd") &&
        strcmp(sub, "disable") && strcmp(sub, "enable") && strcmp(sub, "unlock") &&
        strcmp(sub, "role") && strcmp(sub, "demo")) {
        cli_error(ctx, "unknown subcommand '%s' (see 'civgrid user --help')", sub);
        return CLI_USAGE;
    }
    rc = env_open(ctx, true, &env);
    if (rc) {
        return rc;
    }
    if (!strcmp(sub, "add")) {
        rc = user_add(ctx, &env, &o);
    } else if (!strcmp(sub, "list")) {
        rc = user_list(ctx, &env, &o);
    } else if (!strcmp(sub, "passwd")) {
        rc = user_passwd(ctx, &env, &o);
    } else if (!strcmp(sub, "disable")) {
        rc = user_status(ctx, &env, &o, "disabled");
    } else if (!strcmp(sub, "enable") || !strcmp(sub, "unlock")) {
        rc = user_status(ctx, &env, &o, "active");
    } else if (!strcmp(sub, "role")) {
        rc = user_role(ctx, &env, &o);
    } else {
        rc = user_demo(ctx, &env, &o);
    }
    env_close(&env);
    return rc;
}
