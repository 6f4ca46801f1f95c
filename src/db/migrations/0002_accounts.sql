-- 0002_accounts: accounts, roles and permissions (as data), sessions and second factors.
-- Roles are granted permissions in role_permission; code asks "may this account do
-- event.dispatch on this object", never "is this account a dispatcher".

CREATE TABLE role (
    name TEXT PRIMARY KEY,          -- stable identifier used by the API
    label_zh TEXT NOT NULL,
    label_en TEXT NOT NULL,
    admin_kind TEXT                 -- 'system', 'security', 'audit' for the three administrators
);

CREATE TABLE role_permission (
    role TEXT NOT NULL REFERENCES role(name),
    permission TEXT NOT NULL,
    PRIMARY KEY (role, permission)
);

-- scope_kind: 'all' (the whole city), 'grid' (the subtree whose codes start with scope_ref),
-- 'department' (scope_ref names it), 'own' (only the account's own items).
CREATE TABLE account (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL UNIQUE COLLATE NOCASE,  -- "Zhang.San" and "zhang.san" are one account
    display_name TEXT NOT NULL,
    phone_enc TEXT,                 -- encrypted (src/domain/pii), never stored in clear
    phone_idx TEXT,                 -- keyed blind index for exact lookup
    phone_mask TEXT,                -- what responses show: 138****5678
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'locked', 'disabled')),
    password_hash TEXT NOT NULL,    -- argon2id, libsodium crypto_pwhash_str format
    password_changed_at TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,   -- consecutive failures since the last success
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('all', 'grid', 'department', 'own')),
    scope_ref TEXT NOT NULL DEFAULT '',
    totp_secret_enc TEXT,           -- encrypted TOTP seed, set at enrolment
    totp_enabled INTEGER NOT NULL DEFAULT 0,
    totp_last_step INTEGER NOT NULL DEFAULT 0,  -- last accepted time step: codes never replay
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX account_phone_idx ON account(phone_idx);
CREATE INDEX account_scope ON account(scope_kind, scope_ref);

CREATE TABLE account_role (
    account_id INTEGER NOT NULL REFERENCES account(id),
    role TEXT NOT NULL REFERENCES role(name),
    PRIMARY KEY (account_id, role)
);

-- Sessions: only a hash of the token is kept, so a copy of the database opens no session.
CREATE TABLE session (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    csrf_hash TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES account(id),
    created_at INTEGER NOT NULL,    -- Unix seconds: sessions compare times on every request
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,    -- absolute expiry
    remote TEXT,
    user_agent TEXT
);
CREATE INDEX session_account ON session(account_id);

CREATE TABLE recovery_code (
    account_id INTEGER NOT NULL REFERENCES account(id),
    code_hash TEXT NOT NULL,
    used_at TEXT,
    PRIMARY KEY (account_id, code_hash)
);

INSERT INTO role(name, label_zh, label_en, admin_kind) VALUES
    ('grid_worker', '网格员', 'Grid worker', NULL),
    ('grid_leader', '网格长', 'Grid leader', NULL),
    ('village_station', '村居工作站', 'Village/community station', NULL),
    ('duty_officer', '值班长', 'Duty officer', NULL),
    ('dispatcher', '派遣员', 'Dispatcher', NULL),
    ('dept_handler', '部门处置人员', 'Department handler', NULL),
    ('mediator', '调解员', 'Mediator', NULL),
    ('hotline_operator', '话务员', 'Hotline operator', NULL),
    ('leader', '领导', 'Leader (read-only)', NULL),
    ('citizen', '市民', 'Citizen', NULL),
    ('sys_admin', '系统管理员', 'System administrator', 'system'),
    ('sec_admin', '安全管理员', 'Security administrator', 'security'),
    ('audit_admin', '审计管理员', 'Audit administrator', 'audit');

-- Permissions of the business roles name capabilities that later modules enforce.
INSERT INTO role_permission(role, permission) VALUES
    ('grid_worker', 'grid.read'), ('grid_worker', 'event.report'), ('grid_worker', 'event.read'),
    ('grid_worker', 'event.resolve'), ('grid_worker', 'patrol.record'), ('grid_worker', 'visit.record'),
    ('grid_worker', 'registry.read'), ('grid_worker', 'registry.collect'),
    ('grid_leader', 'grid.read'), ('grid_leader', 'event.report'), ('grid_leader', 'event.read'),
    ('grid_leader', 'event.resolve'), ('grid_leader', 'event.verify'), ('grid_leader', 'user.read'),
    ('grid_leader', 'registry.read'), ('grid_leader', 'stats.read'),
    ('village_station', 'grid.read'), ('village_station', 'event.read'), ('village_station', 'event.accept'),
    ('village_station', 'event.dispatch'), ('village_station', 'event.verify'), ('village_station', 'user.read'),
    ('village_station', 'registry.read'), ('village_station', 'stats.read'),
    ('duty_officer', 'grid.read'), ('duty_officer', 'event.read'), ('duty_officer', 'event.accept'),
    ('duty_officer', 'event.dispatch'), ('duty_officer', 'event.verify'), ('duty_officer', 'event.close'),
    ('duty_officer', 'event.supervise'), ('duty_officer', 'user.read'), ('duty_officer', 'stats.read'),
    ('dispatcher', 'grid.read'), ('dispatcher', 'event.read'), ('dispatcher', 'event.dispatch'),
    ('dispatcher', 'stats.read'),
    ('dept_handler', 'event.read'), ('dept_handler', 'event.handle'),
    ('mediator', 'grid.read'), ('mediator', 'mediation.read'), ('mediator', 'mediation.handle'),
    ('hotline_operator', 'hotline.intake'), ('hotline_operator', 'hotline.read'), ('hotline_operator', 'event.read'),
    ('leader', 'grid.read'), ('leader', 'event.read'), ('leader', 'stats.read'), ('leader', 'mediation.read'),
    ('leader', 'hotline.read'),
    ('citizen', 'event.report'), ('citizen', 'event.read'), ('citizen', 'consult.vote'),
    ('sys_admin', 'user.read'), ('sys_admin', 'user.create'), ('sys_admin', 'user.update'),
    ('sys_admin', 'user.disable'), ('sys_admin', 'user.password_reset'), ('sys_admin', 'user.reveal'),
    ('sys_admin', 'grid.read'), ('sys_admin', 'grid.manage'), ('sys_admin', 'system.manage'),
    ('sec_admin', 'user.read'), ('sec_admin', 'user.role'), ('sec_admin', 'user.unlock'),
    ('sec_admin', 'user.reveal'),
    ('audit_admin', 'audit.read'), ('audit_admin', 'audit.verify');
