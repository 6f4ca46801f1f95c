-- 0007_event: events (事件) and their append-only action log (docs/EVENTS.md).
-- The log is the truth: every state change writes exactly one event_log row in the same
-- transaction as the event row it changes; the event row is the current projection.
-- Times are RFC 3339 UTC with milliseconds.

CREATE TABLE event (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('normal', 'self_resolved', 'report_only')),
    source TEXT NOT NULL CHECK (source IN ('patrol', 'citizen', 'hotline', 'video', 'assignment')),
    category_kind TEXT NOT NULL,
    category_code TEXT NOT NULL,
    category_name TEXT NOT NULL,
    department TEXT NOT NULL DEFAULT '',  -- responsible department, from the catalogue
    urgency TEXT NOT NULL CHECK (urgency IN ('normal', 'urgent', 'emergency')),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    grid_code TEXT NOT NULL,              -- the grid the point lay in when reported
    reporter_id INTEGER REFERENCES account(id),
    state TEXT NOT NULL,
    tier TEXT NOT NULL DEFAULT 'grid' CHECK (tier IN ('grid', 'village', 'town', 'department')),
    supervised INTEGER NOT NULL DEFAULT 0, -- 督办
    rework_count INTEGER NOT NULL DEFAULT 0, -- 返工
    step_started_at TEXT NOT NULL,
    deadline_at TEXT,                     -- of the current step; NULL: none, or no calendar
    due_at TEXT,                          -- 处置时限: set at dispatch, moved by extensions
    closure_type TEXT CHECK (closure_type IS NULL OR closure_type IN
        ('normal', 'overdue', 'error', 'special')),
    satisfaction INTEGER CHECK (satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5),
    people INTEGER NOT NULL DEFAULT 0 CHECK (people >= 0), -- people involved, as reported
    risk_score INTEGER NOT NULL DEFAULT 0 CHECK (risk_score BETWEEN 0 AND 100),
    risk_reasons TEXT NOT NULL DEFAULT '[]', -- JSON [{"reason", "points"}]
    merged_into INTEGER REFERENCES event(id), -- a duplicate merged into another event
    version INTEGER NOT NULL DEFAULT 1,   -- grows at every change: concurrent actions conflict
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX event_grid_state ON event(grid_code, state);
CREATE INDEX event_state_deadline ON event(state, deadline_at);
CREATE INDEX event_created ON event(created_at);
-- Near-duplicates and repeats: events of one class in a narrow band of longitude (the search
-- box is a few hundred metres wide), then latitude and time.
CREATE INDEX event_class_place ON event(category_kind, category_code, lon, lat);

CREATE TABLE event_log (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES event(id),
    at TEXT NOT NULL,
    actor_id INTEGER REFERENCES account(id),
    actor_login TEXT,
    action TEXT NOT NULL,
    from_state TEXT,                      -- NULL for the report itself
    to_state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    detail TEXT,                          -- JSON: department, deadline, satisfaction...
    deadline_at TEXT
);
CREATE INDEX event_log_event ON event_log(event_id, id);

CREATE TRIGGER event_log_no_update BEFORE UPDATE ON event_log
BEGIN
    SELECT RAISE(ABORT, 'event_log is append-only');
END;
CREATE TRIGGER event_log_no_delete BEFORE DELETE ON event_log
BEGIN
    SELECT RAISE(ABORT, 'event_log is append-only');
END;

-- Who follows an event besides its reporter: the reporters of duplicates merged into it.
CREATE TABLE event_follower (
    event_id INTEGER NOT NULL REFERENCES event(id),
    account_id INTEGER NOT NULL REFERENCES account(id),
    since TEXT NOT NULL,
    PRIMARY KEY (event_id, account_id)
);

-- Warnings raised by the deadline sweep, once per event, kind and deadline; everyone whose
-- scope covers the event's grid (or department) sees them.
CREATE TABLE event_notice (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES event(id),
    kind TEXT NOT NULL CHECK (kind IN ('yellow', 'red')),
    deadline_at TEXT NOT NULL,
    grid_code TEXT NOT NULL,
    department TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (event_id, kind, deadline_at)
);
CREATE INDEX event_notice_grid ON event_notice(grid_code, id);

-- Words that raise the risk score of a report (data: edit the table to tune it).
CREATE TABLE risk_word (
    word TEXT PRIMARY KEY,
    points INTEGER NOT NULL CHECK (points BETWEEN 1 AND 50)
);
INSERT INTO risk_word(word, points) VALUES
    ('自杀', 40), ('跳楼', 40), ('轻生', 40), ('爆炸', 40), ('持刀', 40), ('伤亡', 30),
    ('死亡', 30), ('火灾', 30), ('起火', 30), ('煤气', 20), ('燃气泄漏', 30),
    ('群体', 25), ('聚集', 20), ('集体上访', 30), ('上访', 20), ('堵路', 25), ('围堵', 25),
    ('讨薪', 20), ('欠薪', 20), ('打架', 20), ('斗殴', 25), ('威胁', 15), ('闹事', 20),
    ('坍塌', 30), ('塌方', 30), ('危房', 20), ('触电', 30), ('溺水', 30), ('老人走失', 20),
    ('儿童走失', 30), ('精神病', 20), ('家暴', 25), ('食物中毒', 30);

-- On-site verification and checking (核实, 核查) are grid workers' work too; hotline operators
-- file what callers report (source hotline).
INSERT INTO role_permission(role, permission) VALUES ('grid_worker', 'event.verify'),
    ('hotline_operator', 'event.report');
