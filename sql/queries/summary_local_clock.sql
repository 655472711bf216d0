-- The local clock the daily views count days at.
SELECT timezone, utc_offset_hours FROM v_local_clock;
