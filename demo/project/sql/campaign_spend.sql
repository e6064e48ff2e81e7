-- Regression label rows: one per campaign email sent, with what the
-- subscriber spent in the 7 days after it (0 when nothing). Like
-- campaign_outcomes, sends in the last 7 days of data are left out.
SELECT
  s.subscriber_id,
  s.campaign_id,
  s.event_time AS sent_at,
  CAST(coalesce(sum(o.amount), 0) AS DOUBLE) AS spend_7d
FROM {{ email_events }} AS s
LEFT JOIN {{ orders }} AS o
  ON o.subscriber_id = s.subscriber_id
  AND o.ordered_at > s.event_time
  AND o.ordered_at <= s.event_time + INTERVAL 7 DAY
WHERE s.event_type = 'sent'
  AND s.event_time <= (SELECT max(event_time) FROM {{ email_events }}) - INTERVAL 7 DAY
GROUP BY ALL
