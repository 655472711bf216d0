-- Where people are held now (v_person_whereabouts), persons per place.
SELECT place, place_label, COUNT(*) AS persons FROM v_person_whereabouts GROUP BY place, place_label;
