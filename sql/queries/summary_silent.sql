SELECT report_day, feed, expected, reported, silent FROM zero_report_check ORDER BY report_day, feed;
