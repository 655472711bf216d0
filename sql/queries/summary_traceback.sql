-- Seed 001 倒查 on the latest report day: new confirmed and suspected cases, and how many were
-- already under management.
SELECT COUNT(*) AS new_cases, COALESCE(SUM(under_management), 0) AS under_management
FROM v_case_traceback
WHERE day = (SELECT MAX(day) FROM v_report_day);
