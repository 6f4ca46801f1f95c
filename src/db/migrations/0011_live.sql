-- 0011_live: the live command-center map (docs/LIVE.md). Its hub follows the event log and
-- the sweep's notices by their integer ids (primary keys: no index needed) and the workers'
-- positions by the time their row last changed, which needs this index.
CREATE INDEX worker_position_updated ON worker_position(updated_at);

-- Watching the live map: the command center (duty officers, dispatchers, leaders) and the
-- village stations, each over its own scope.
INSERT INTO role_permission(role, permission) VALUES
    ('duty_officer', 'live.read'), ('dispatcher', 'live.read'), ('leader', 'live.read'),
    ('village_station', 'live.read');
