-- kpi_town.sql: the reference scan of the KPIs by town (KPI_SCAN_SQL of
-- src/domain/event/event_store.c with substr(grid_code, 1, 9)): what the server counts from its
-- roll-ups, computed from the event rows and the log in the sqlite3 shell on the same file
-- (bench_dashboard in tests/bench/run.sh sets ?1 from, ?2 to, ?3 and ?4 the grid range of the
-- scope, ?5 department, ?6 owner). Keep it in step with the source when the KPIs change.
SELECT substr(grid_code, 1, 9),
 SUM(created_at >= ?1 AND created_at < ?2),
 SUM(filed_at >= ?1 AND filed_at < ?2),
 SUM(reckon >= ?1 AND reckon < ?2),
 SUM(reckon >= ?1 AND reckon < ?2 AND closed_at IS NOT NULL),
 SUM(reckon >= ?1 AND reckon < ?2 AND closed_at <= due_at),
 SUM((SELECT COUNT(*) FROM event_log l WHERE l.event_id = e.id AND l.at >= ?1
  AND l.at < ?2 AND (l.action = 'check_fail'
  OR (l.action = 'revisit' AND l.to_state = 'handling')))),
 SUM(state = 'closed' AND closed_at >= ?1 AND closed_at < ?2
  AND tier IN ('grid', 'village') AND dispatched_at IS NULL),
 SUM(satisfaction IS NOT NULL AND closed_at >= ?1 AND closed_at < ?2),
 TOTAL(CASE WHEN closed_at >= ?1 AND closed_at < ?2 THEN satisfaction END)
 FROM (SELECT *, CASE WHEN due_at IS NOT NULL
  THEN min(due_at, COALESCE(closed_at, due_at)) END AS reckon FROM event
  WHERE kind <> 'report_only' AND grid_code >= ?3 AND grid_code < ?4
  AND (?5 IS NULL OR department = ?5) AND (?6 = 0 OR reporter_id = ?6)) e
 GROUP BY 1 ORDER BY 1;
