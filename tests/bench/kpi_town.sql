-- kpi_town.sql: the KPI statement by town of src/domain/event/event_store.c (KPI_SQL with
-- substr(grid_code, 1, 9)), copied for the dashboard benchmark's reference: the same aggregate
-- run directly in the sqlite3 shell on the same file (bench_dashboard in tests/bench/run.sh
-- sets ?1 from, ?2 to, ?3 and ?4 the grid range of the scope, ?5 department, ?6 owner).
-- Keep it in step with the source when the KPIs change.
SELECT substr(grid_code, 1, 9),
 SUM(kind <> 'report_only' AND created_at >= ?1 AND created_at < ?2),
 SUM(EXISTS (SELECT 1 FROM event_log l WHERE l.event_id = e.id AND l.action = 'file'
  AND l.at >= ?1 AND l.at < ?2)),
 SUM(due_at IS NOT NULL AND ((due_at >= ?1 AND due_at < ?2)
  OR (closed_at >= ?1 AND closed_at < ?2))),
 SUM(due_at IS NOT NULL AND ((due_at >= ?1 AND due_at < ?2)
  OR (closed_at >= ?1 AND closed_at < ?2)) AND closed_at IS NOT NULL AND closed_at < ?2),
 SUM(due_at IS NOT NULL AND ((due_at >= ?1 AND due_at < ?2)
  OR (closed_at >= ?1 AND closed_at < ?2)) AND closed_at IS NOT NULL AND closed_at < ?2
  AND closed_at <= due_at),
 SUM((SELECT COUNT(*) FROM event_log l WHERE l.event_id = e.id AND l.at >= ?1
  AND l.at < ?2 AND (l.action = 'check_fail'
  OR (l.action = 'revisit' AND l.to_state = 'handling')))),
 SUM(kind <> 'report_only' AND state = 'closed' AND closed_at >= ?1 AND closed_at < ?2
  AND tier IN ('grid', 'village') AND NOT EXISTS (SELECT 1 FROM event_log l
  WHERE l.event_id = e.id AND l.action = 'dispatch')),
 SUM(satisfaction IS NOT NULL AND closed_at >= ?1 AND closed_at < ?2),
 TOTAL(CASE WHEN closed_at >= ?1 AND closed_at < ?2 THEN satisfaction END)
 FROM event e WHERE grid_code >= ?3 AND grid_code < ?4
 AND (?5 IS NULL OR department = ?5) AND (?6 = 0 OR reporter_id = ?6)
 GROUP BY 1 ORDER BY 1;
