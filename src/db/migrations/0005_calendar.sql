-- 0005_calendar: the working calendar (docs/CALENDAR.md): working hours per day, and per
-- year the public holidays (法定节假日 and the days of each 放假调休 range) and the swapped
-- working days (调休上班) of the State Council's notice (国务院办公厅关于…部分节假日安排的通知).
-- Days are China dates (UTC+8) 'YYYY-MM-DD'; hours are China clock times 'HH:MM'.
-- A year without a calendar_year row has no data: working-time arithmetic refuses it
-- rather than guessing. New years are loaded with `civgrid calendar import` from
-- data/calendar/cn-YYYY.csv, no migration needed.

-- The working periods of a working day, in force from valid_from (a China date) until the
-- next valid_from: a change of hours never moves the deadlines computed before it.
CREATE TABLE calendar_hours (
    valid_from TEXT NOT NULL,
    position INTEGER NOT NULL CHECK (position BETWEEN 1 AND 4),
    start_time TEXT NOT NULL,       -- 'HH:MM', China time
    end_time TEXT NOT NULL,         -- 'HH:MM' after start_time, at most '24:00'
    PRIMARY KEY (valid_from, position),
    CHECK (start_time < end_time)
);

-- One row per year whose arrangement is loaded, with the notice it comes from.
CREATE TABLE calendar_year (
    year INTEGER PRIMARY KEY CHECK (year BETWEEN 2000 AND 2099),
    source TEXT NOT NULL,           -- title, number, date and address of the notice
    loaded_at TEXT NOT NULL,        -- RFC 3339 UTC
    loaded_by TEXT NOT NULL         -- login of who imported it, or the migration
);

-- The days that differ from the rule "Monday to Friday work, Saturday and Sunday rest":
-- holiday = no work (any weekday), workday = a Saturday or Sunday worked (调休上班).
-- name is the holiday the row belongs to (春节, 国庆节...). year is the notice's year,
-- normally the date's own.
CREATE TABLE calendar_day (
    cn_date TEXT PRIMARY KEY,
    year INTEGER NOT NULL REFERENCES calendar_year(year),
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL
);
CREATE INDEX calendar_day_year ON calendar_day(year);

-- Default hours: 08:30-12:00 and 14:00-17:30 (7 working hours a day).
INSERT INTO calendar_hours(valid_from, position, start_time, end_time) VALUES
    ('2000-01-01', 1, '08:30', '12:00'),
    ('2000-01-01', 2, '14:00', '17:30');

-- The seed: the same rows as data/calendar/cn-2025.csv and cn-2026.csv (a unit test
-- compares them). Both notices were checked against their published text (sources in
-- docs/CALENDAR.md). 2027 is not seeded: its notice was not found in the sources searched
-- on 2026-12-01; import data/calendar/cn-2027.csv once it is written from the notice.

INSERT INTO calendar_year(year, source, loaded_at, loaded_by) VALUES (2025,
    '国务院办公厅关于2025年部分节假日安排的通知 国办发明电〔2024〕12号 (2024-11-12) https://www.gov.cn/zhengce/content/202411/content_6986382.htm',
    '2026-12-01T00:00:00.000Z', 'migration 0005_calendar');
INSERT INTO calendar_day(cn_date, year, kind, name) VALUES
    ('2025-01-01', 2025, 'holiday', '元旦'),
    ('2025-01-26', 2025, 'workday', '春节'),
    ('2025-01-28', 2025, 'holiday', '春节'),
    ('2025-01-29', 2025, 'holiday', '春节'),
    ('2025-01-30', 2025, 'holiday', '春节'),
    ('2025-01-31', 2025, 'holiday', '春节'),
    ('2025-02-01', 2025, 'holiday', '春节'),
    ('2025-02-02', 2025, 'holiday', '春节'),
    ('2025-02-03', 2025, 'holiday', '春节'),
    ('2025-02-04', 2025, 'holiday', '春节'),
    ('2025-02-08', 2025, 'workday', '春节'),
    ('2025-04-04', 2025, 'holiday', '清明节'),
    ('2025-04-05', 2025, 'holiday', '清明节'),
    ('2025-04-06', 2025, 'holiday', '清明节'),
    ('2025-04-27', 2025, 'workday', '劳动节'),
    ('2025-05-01', 2025, 'holiday', '劳动节'),
    ('2025-05-02', 2025, 'holiday', '劳动节'),
    ('2025-05-03', 2025, 'holiday', '劳动节'),
    ('2025-05-04', 2025, 'holiday', '劳动节'),
    ('2025-05-05', 2025, 'holiday', '劳动节'),
    ('2025-05-31', 2025, 'holiday', '端午节'),
    ('2025-06-01', 2025, 'holiday', '端午节'),
    ('2025-06-02', 2025, 'holiday', '端午节'),
    ('2025-09-28', 2025, 'workday', '国庆节、中秋节'),
    ('2025-10-01', 2025, 'holiday', '国庆节、中秋节'),
    ('2025-10-02', 2025, 'holiday', '国庆节、中秋节'),
    ('2025-10-03', 2025, 'holiday', '国庆节、中秋节'),
    ('2025-10-04', 2025, 'holiday', '国庆节、中秋节'),
    ('2025-10-05', 2025, 'holiday', '国庆节、中秋节'),
    ('2025-10-06', 2025, 'holiday', '国庆节、中秋节'),
    ('2025-10-07', 2025, 'holiday', '国庆节、中秋节'),
    ('2025-10-08', 2025, 'holiday', '国庆节、中秋节'),
    ('2025-10-11', 2025, 'workday', '国庆节、中秋节');

INSERT INTO calendar_year(year, source, loaded_at, loaded_by) VALUES (2026,
    '国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04) https://www.gov.cn/zhengce/content/202511/content_7047090.htm',
    '2026-12-01T00:00:00.000Z', 'migration 0005_calendar');
INSERT INTO calendar_day(cn_date, year, kind, name) VALUES
    ('2026-01-01', 2026, 'holiday', '元旦'),
    ('2026-01-02', 2026, 'holiday', '元旦'),
    ('2026-01-03', 2026, 'holiday', '元旦'),
    ('2026-01-04', 2026, 'workday', '元旦'),
    ('2026-02-14', 2026, 'workday', '春节'),
    ('2026-02-15', 2026, 'holiday', '春节'),
    ('2026-02-16', 2026, 'holiday', '春节'),
    ('2026-02-17', 2026, 'holiday', '春节'),
    ('2026-02-18', 2026, 'holiday', '春节'),
    ('2026-02-19', 2026, 'holiday', '春节'),
    ('2026-02-20', 2026, 'holiday', '春节'),
    ('2026-02-21', 2026, 'holiday', '春节'),
    ('2026-02-22', 2026, 'holiday', '春节'),
    ('2026-02-23', 2026, 'holiday', '春节'),
    ('2026-02-28', 2026, 'workday', '春节'),
    ('2026-04-04', 2026, 'holiday', '清明节'),
    ('2026-04-05', 2026, 'holiday', '清明节'),
    ('2026-04-06', 2026, 'holiday', '清明节'),
    ('2026-05-01', 2026, 'holiday', '劳动节'),
    ('2026-05-02', 2026, 'holiday', '劳动节'),
    ('2026-05-03', 2026, 'holiday', '劳动节'),
    ('2026-05-04', 2026, 'holiday', '劳动节'),
    ('2026-05-05', 2026, 'holiday', '劳动节'),
    ('2026-05-09', 2026, 'workday', '劳动节'),
    ('2026-06-19', 2026, 'holiday', '端午节'),
    ('2026-06-20', 2026, 'holiday', '端午节'),
    ('2026-06-21', 2026, 'holiday', '端午节'),
    ('2026-09-20', 2026, 'workday', '国庆节'),
    ('2026-09-25', 2026, 'holiday', '中秋节'),
    ('2026-09-26', 2026, 'holiday', '中秋节'),
    ('2026-09-27', 2026, 'holiday', '中秋节'),
    ('2026-10-01', 2026, 'holiday', '国庆节'),
    ('2026-10-02', 2026, 'holiday', '国庆节'),
    ('2026-10-03', 2026, 'holiday', '国庆节'),
    ('2026-10-04', 2026, 'holiday', '国庆节'),
    ('2026-10-05', 2026, 'holiday', '国庆节'),
    ('2026-10-06', 2026, 'holiday', '国庆节'),
    ('2026-10-07', 2026, 'holiday', '国庆节'),
    ('2026-10-10', 2026, 'workday', '国庆节');
