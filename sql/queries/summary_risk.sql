SELECT risk_rank, risk_level, risk_label, COUNT(*) AS communities FROM v_community_risk
GROUP BY risk_rank, risk_level, risk_label ORDER BY risk_rank;
