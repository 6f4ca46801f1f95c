-- 0006_catalogue: the event catalogue (docs/CATALOGUE.md): classes (大类, level 'major') and
-- sub-classes (小类, level 'minor') of events, keyed by (kind, code) so that the code lists of
-- CJ/T 214 / GB/T 30428.2, GB/T 47678.5 and local tables coexist (GB/T 47678.5 alone uses
-- 01001 for a 部件 and a 事项). Each sub-class carries its responsible department, urgency and
-- a time limit per step: a value (a multiple of 0.25) and a unit, NULL when the step has none.
-- The rows themselves are data: civgrid adds the default ones of data/catalogue/*.csv at
-- `civgrid init` and at server start, `civgrid catalogue import` loads a local table, admins
-- change rows with PUT /api/v1/event-categories/:code.
-- Times are RFC 3339 UTC with milliseconds.

CREATE TABLE event_category (
    kind TEXT NOT NULL CHECK (kind IN ('event', 'component', 'matter', 'social', 'hotline')),
    code TEXT NOT NULL,             -- letters and digits; a sub-class's starts with its class's
    level TEXT NOT NULL CHECK (level IN ('major', 'minor')),
    major_code TEXT,                -- the class of a sub-class; NULL for a class
    name TEXT NOT NULL,
    department TEXT,                -- sub-classes: the responsible department (责任单位)
    urgency TEXT CHECK (urgency IS NULL OR urgency IN ('normal', 'urgent', 'emergency')),
    accept_limit REAL,              -- 受理/立案
    accept_unit TEXT,
    dispatch_limit REAL,            -- 派遣
    dispatch_unit TEXT,
    handle_limit REAL,              -- 处置
    handle_unit TEXT,
    check_limit REAL,               -- 核查
    check_unit TEXT,
    filing_condition TEXT,          -- 立案条件, where a source gives it
    closing_condition TEXT,         -- 结案条件
    standard_ref TEXT NOT NULL,     -- where the class comes from, or 'civgrid default'
    confidence TEXT CHECK (confidence IS NULL OR confidence IN ('V', 'S', 'U')),
    limits_ref TEXT,                -- where the time limits come from
    note TEXT,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),  -- offered for new events
    version INTEGER NOT NULL DEFAULT 1,                          -- grows at every change
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, code),
    FOREIGN KEY (kind, major_code) REFERENCES event_category(kind, code),
    CHECK ((level = 'major') = (major_code IS NULL)),
    CHECK (level = 'major' OR (department IS NOT NULL AND urgency IS NOT NULL)),
    CHECK ((accept_limit IS NULL) = (accept_unit IS NULL)),
    CHECK ((dispatch_limit IS NULL) = (dispatch_unit IS NULL)),
    CHECK ((handle_limit IS NULL) = (handle_unit IS NULL)),
    CHECK ((check_limit IS NULL) = (check_unit IS NULL)),
    CHECK (accept_limit IS NULL OR (accept_limit > 0
        AND accept_unit IN ('work_hour', 'work_day', 'natural_hour'))),
    CHECK (dispatch_limit IS NULL OR (dispatch_limit > 0
        AND dispatch_unit IN ('work_hour', 'work_day', 'natural_hour'))),
    CHECK (handle_limit IS NULL OR (handle_limit > 0
        AND handle_unit IN ('work_hour', 'work_day', 'natural_hour'))),
    CHECK (check_limit IS NULL OR (check_limit > 0
        AND check_unit IN ('work_hour', 'work_day', 'natural_hour')))
);
CREATE INDEX event_category_major ON event_category(kind, major_code);
CREATE INDEX event_category_code ON event_category(code);

-- Reading the catalogue is every role's (reporting needs a category, dispatching its
-- department and limits); changing it is the system administrator's.
INSERT INTO role_permission(role, permission) VALUES
    ('grid_worker', 'catalogue.read'), ('grid_leader', 'catalogue.read'),
    ('village_station', 'catalogue.read'), ('duty_officer', 'catalogue.read'),
    ('dispatcher', 'catalogue.read'), ('dept_handler', 'catalogue.read'),
    ('mediator', 'catalogue.read'), ('hotline_operator', 'catalogue.read'),
    ('leader', 'catalogue.read'), ('citizen', 'catalogue.read'),
    ('sys_admin', 'catalogue.read'), ('sec_admin', 'catalogue.read'),
    ('audit_admin', 'catalogue.read'),
    ('sys_admin', 'catalogue.manage');
