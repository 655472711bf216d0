-- The latest report day and the moment its figures are taken at (local).
SELECT day, as_of, as_of_local FROM v_report_day WHERE day = (SELECT MAX(day) FROM v_report_day);
