-- 0009_patrol: patrols (巡查) with their GPS tracks, the last position and duty flag of
-- each worker, and household visits (走访) with the opinions collected (民情)
-- (docs/PATROL.md). Times are RFC 3339 UTC with milliseconds; point times are also kept
-- as milliseconds since the epoch (t_ms) for ordering and arithmetic.

CREATE TABLE patrol (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES account(id),
    grid_code TEXT NOT NULL,              -- the grid patrolled (the worker's assignment)
    started_ms INTEGER NOT NULL,
    ended_ms INTEGER,                     -- NULL while the patrol runs
    created_at TEXT NOT NULL
);
CREATE INDEX patrol_account ON patrol(account_id, started_ms);
CREATE INDEX patrol_grid ON patrol(grid_code, started_ms);
-- One running patrol per account.
CREATE UNIQUE INDEX patrol_running ON patrol(account_id) WHERE ended_ms IS NULL;

CREATE TABLE patrol_point (
    patrol_id INTEGER NOT NULL REFERENCES patrol(id),
    t_ms INTEGER NOT NULL,
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    accuracy_m REAL,
    speed REAL,                           -- m/s as the device reported it
    PRIMARY KEY (patrol_id, t_ms)         -- one point per millisecond: a duplicate is dropped
);

-- The last known position of each worker, and the duty flag: 'auto' (on duty while a
-- patrol runs), 'on' or 'off' (set by the worker).
CREATE TABLE worker_position (
    account_id INTEGER PRIMARY KEY REFERENCES account(id),
    lon REAL,
    lat REAL,
    t_ms INTEGER,                         -- time of the position, NULL when none yet
    grid_code TEXT NOT NULL DEFAULT '',   -- the worker's grid (of the last patrol)
    duty TEXT NOT NULL DEFAULT 'auto' CHECK (duty IN ('auto', 'on', 'off')),
    updated_at TEXT NOT NULL
);

CREATE TABLE visit (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES account(id),
    grid_code TEXT NOT NULL,
    address TEXT NOT NULL,
    household TEXT NOT NULL DEFAULT '',   -- the household note
    visited_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX visit_grid ON visit(grid_code, id);
CREATE INDEX visit_account ON visit(account_id, id);

CREATE TABLE visit_opinion (
    visit_id INTEGER NOT NULL REFERENCES visit(id),
    position INTEGER NOT NULL,            -- 1..n in the order given
    text TEXT NOT NULL,
    event_id INTEGER REFERENCES event(id), -- set once the opinion was turned into an event
    PRIMARY KEY (visit_id, position)
);

-- Reading patrols and visits: the grid staff (a worker sees its own, patrol.c decides) and
-- the village, town and leaders who follow their work.
INSERT INTO role_permission(role, permission) VALUES
    ('grid_worker', 'patrol.read'), ('grid_worker', 'visit.read'),
    ('grid_leader', 'patrol.read'), ('grid_leader', 'visit.read'),
    ('village_station', 'patrol.read'), ('village_station', 'visit.read'),
    ('duty_officer', 'patrol.read'), ('duty_officer', 'visit.read'),
    ('dispatcher', 'patrol.read'), ('dispatcher', 'visit.read'),
    ('leader', 'patrol.read'), ('leader', 'visit.read');
