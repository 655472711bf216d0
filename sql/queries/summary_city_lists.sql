-- The city's lists (市下推) by category (v_city_list_categories).
SELECT category, records, persons, persons_to_verify FROM v_city_list_categories;
