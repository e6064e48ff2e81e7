-- Label rows: one per campaign email sent, true when the subscriber ordered
-- within 7 days after it (an order at the send time itself does not count:
-- features see orders up to and including the send time).
SELECT
  s.subscriber_id,
  s.campaign_id,
  s.event_time AS sent_at,
  count(o.order_id) > 0 AS purchased_7d
FROM {{ email_events }} AS s
LEFT JOIN {{ orders }} AS o
  ON o.subscriber_id = s.subscriber_id
  AND o.ordered_at > s.event_time
  AND o.ordered_at <= s.event_time + INTERVAL 7 DAY
WHERE s.event_type = 'sent'
  AND s.event_time <= (SELECT max(event_time) FROM {{ email_events }}) - INTERVAL 7 DAY
GROUP BY ALL
