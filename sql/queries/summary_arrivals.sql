-- Arrivals not yet placed (v_arrivals_unplaced): persons, the longest wait, those on the district list
-- (destination address routed to no street).
SELECT COUNT(*) AS persons, MAX(hours_unplaced) AS oldest_hours,
       SUM(CASE WHEN street = '区级清单' THEN 1 ELSE 0 END) AS district_list,
       (SELECT COUNT(DISTINCT l.person_id) FROM source_record r JOIN person_link l ON l.source_record_id = r.source_record_id
        WHERE r.feed = 'arrivals') AS arrived
FROM v_arrivals_unplaced;
