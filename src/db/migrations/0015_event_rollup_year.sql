-- 0015_event_rollup_year: the KPI roll-ups per year too ('YYYY'), beside the days and months
-- of 0010 (docs/EVENTS.md, "KPIs").
--
-- A KPI answer reads one roll-up row per group and bucket: the 9,889 workers of Dongguan over a
-- year were 12 month rows each, some 120,000 rows and 130 ms. With a year row a whole year is one
-- bucket, and a year to date the year less December plus its first days (four buckets).
--
-- Every target gets its year (span 4): the fold trigger and the readers go through
-- event_rollup_target, so they take it up from here on; the year rows of what is already
-- folded are the sums of its month rows (the pending rows are folded later, into all three).
INSERT INTO event_rollup_target(dim, lvl, len, span)
SELECT DISTINCT dim, lvl, len, 4 FROM event_rollup_target;

INSERT INTO event_rollup(dim, lvl, bucket, area, key, reported, filed, due, closed, on_time,
    rework, self_resolved, revisits, satisfaction)
SELECT dim, lvl, substr(bucket, 1, 4), area, key, SUM(reported), SUM(filed), SUM(due),
    SUM(closed), SUM(on_time), SUM(rework), SUM(self_resolved), SUM(revisits), SUM(satisfaction)
FROM event_rollup WHERE length(bucket) = 7
GROUP BY dim, lvl, substr(bucket, 1, 4), area, key;
