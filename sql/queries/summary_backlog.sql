-- 应收尽收 on the latest report day: persons per category and the longest wait in hours.
SELECT status, COUNT(*) AS persons, MAX(hours_waiting) AS oldest_hours
FROM v_admission_backlog
WHERE day = (SELECT MAX(day) FROM v_report_day)
GROUP BY status;
