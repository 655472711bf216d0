-- Isolation points on the latest day with anyone held (v_isolation_occupancy): per point, persons
-- held, rooms, rooms free and daily checks missed; and the missed checks over every day.
SELECT o.point, o.street, o.day, o.held, o.rooms, o.free, o.missed
FROM v_isolation_occupancy o
WHERE o.day = (SELECT MAX(day) FROM v_isolation_occupancy);
