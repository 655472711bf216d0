-- Rows come unordered: the caller sorts them in code point order (warehouse.sort_rows), the
-- same on every database whatever its collation.
SELECT risk_rank, risk_level, risk_label, COUNT(*) AS communities FROM v_community_risk
GROUP BY risk_rank, risk_level, risk_label;
