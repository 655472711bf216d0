-- 新增 / 存量 / 清零 and the 应收尽收 backlog per category on the latest report day.
SELECT f.day, f.status, f.label, f.new_persons, f.standing, f.not_held, f.new_zero, f.standing_zero
FROM v_daily_case_figures f
WHERE f.day = (SELECT MAX(day) FROM v_report_day);
