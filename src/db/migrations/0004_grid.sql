-- 0004_grid: the grid map (docs/GRID.md): divisions, grids with their versions, grid staff
-- and their assignments, and the duty lists per grid kind.
-- Geometries are GeoJSON geometry objects as text, in WGS-84/CGCS2000 [lon, lat]; the
-- bounding box is kept in columns so that the store can pre-filter without GEOS.
-- Times are RFC 3339 UTC with milliseconds, so text order is time order.

-- City (6 digits), town/sub-district (9) and village/community (12): 统计用区划代码.
CREATE TABLE division (
    code TEXT PRIMARY KEY,
    parent_code TEXT REFERENCES division(code),
    level TEXT NOT NULL CHECK (level IN ('city', 'town', 'village')),
    name TEXT NOT NULL,
    geometry TEXT,                  -- optional outline
    area_m2 REAL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX division_parent ON division(parent_code);

-- One row per version of a grid; the current version has valid_to NULL.
CREATE TABLE grid (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    version INTEGER NOT NULL,
    community_code TEXT NOT NULL REFERENCES division(code),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('territorial', 'sector')),
    sector_type TEXT CHECK (sector_type IS NULL OR sector_type IN
        ('school', 'hospital', 'market', 'park', 'enterprise', 'government', 'other')),
    households INTEGER NOT NULL DEFAULT 0 CHECK (households >= 0),
    population INTEGER NOT NULL DEFAULT 0 CHECK (population >= 0),
    geometry TEXT NOT NULL,
    area_m2 REAL NOT NULL,
    min_lon REAL NOT NULL, min_lat REAL NOT NULL, max_lon REAL NOT NULL, max_lat REAL NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    UNIQUE (code, version),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX grid_current ON grid(code) WHERE valid_to IS NULL;
-- Counts the changes of the map: an import checked against version n applies only if the map
-- is still at n when its write runs (two imports at once cannot both pass the overlap check).
CREATE TABLE grid_map_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT INTO grid_map_version(id, n) VALUES (1, 0);
CREATE INDEX grid_community ON grid(community_code);

-- Grid staff (网格员花名册): the people, whether or not they have an account yet.
CREATE TABLE grid_staff (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    phone_enc TEXT,                 -- encrypted (src/domain/pii), never in clear
    phone_idx TEXT,                 -- keyed blind index
    phone_mask TEXT,
    employment TEXT NOT NULL CHECK (employment IN ('full_time', 'part_time')),
    account_id INTEGER UNIQUE REFERENCES account(id),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'left')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX grid_staff_phone ON grid_staff(phone_idx);

-- Who serves which grid (一格多员): workers and the leader serve one grid each, a guiding
-- officer (指导员) may guide several. Ended assignments keep their history (until set).
CREATE TABLE grid_assignment (
    id INTEGER PRIMARY KEY,
    grid_code TEXT NOT NULL,
    staff_id INTEGER NOT NULL REFERENCES grid_staff(id),
    role TEXT NOT NULL CHECK (role IN ('worker', 'leader', 'guide')),
    since TEXT NOT NULL,
    until TEXT
);
CREATE INDEX grid_assignment_grid ON grid_assignment(grid_code) WHERE until IS NULL;
CREATE INDEX grid_assignment_staff ON grid_assignment(staff_id) WHERE until IS NULL;
CREATE UNIQUE INDEX grid_assignment_one ON grid_assignment(grid_code, staff_id, role)
    WHERE until IS NULL;
CREATE UNIQUE INDEX grid_assignment_leader ON grid_assignment(grid_code)
    WHERE until IS NULL AND role = 'leader';

-- Duty list (职责清单) and admissible items (准入事项) per grid kind: grid_kind is
-- 'territorial' or 'sector:<sector_type>'.
CREATE TABLE grid_duty (
    grid_kind TEXT NOT NULL,
    list TEXT NOT NULL CHECK (list IN ('duty', 'admissible')),
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    standard_ref TEXT,
    PRIMARY KEY (grid_kind, list, position)
);

-- Staffing is the grid office's work, not the system administrator's alone.
INSERT INTO role_permission(role, permission) VALUES
    ('village_station', 'grid.staff'), ('duty_officer', 'grid.staff'), ('sys_admin', 'grid.staff');

-- The typical 网格员 duties (standards.md section 2, secondary source) and a first list of
-- admissible items; both are editable (PUT /api/v1/grid-duties/:kind).
INSERT INTO grid_duty(grid_kind, list, position, text, standard_ref) VALUES
    ('territorial', 'duty', 1, '基础信息采集（人口、房屋、单位、事件）', 'standards.md 2'),
    ('territorial', 'duty', 2, '安全隐患排查', 'standards.md 2'),
    ('territorial', 'duty', 3, '矛盾纠纷排查调解', 'standards.md 2'),
    ('territorial', 'duty', 4, '治安巡防', 'standards.md 2'),
    ('territorial', 'duty', 5, '发现和报告违法违章', 'standards.md 2'),
    ('territorial', 'duty', 6, '服务群众、政策宣传', 'standards.md 2'),
    ('territorial', 'duty', 7, '协助管控特殊人群（刑释、社区矫正、严重精神障碍患者）', 'standards.md 2'),
    ('territorial', 'duty', 8, '完成上级交办任务', 'standards.md 2'),
    ('territorial', 'admissible', 1, '网格内事件巡查上报', NULL),
    ('territorial', 'admissible', 2, '实有人口、房屋、单位信息采集与核实', NULL),
    ('territorial', 'admissible', 3, '走访入户、收集民情民意', NULL),
    ('sector:school', 'duty', 1, '校园及周边安全隐患排查', 'GB/T 31000-2015 校园及周边安全'),
    ('sector:school', 'duty', 2, '学生上下学时段周边秩序巡查', NULL),
    ('sector:hospital', 'duty', 1, '医院及周边秩序、医患纠纷排查', NULL),
    ('sector:market', 'duty', 1, '市场消防、食品安全隐患排查', NULL),
    ('sector:park', 'duty', 1, '园区企业安全生产隐患排查', NULL),
    ('sector:enterprise', 'duty', 1, '企业安全生产、劳资纠纷排查', NULL);
