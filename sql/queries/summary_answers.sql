SELECT result, COUNT(*) AS answers FROM push_feedback GROUP BY result ORDER BY result;
