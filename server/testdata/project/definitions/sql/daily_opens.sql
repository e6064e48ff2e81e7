-- a day's opens count from the end of that day
SELECT subscriber_id, date_trunc('day', event_time) + INTERVAL 1 DAY AS day, count(*) AS opens
FROM {{ email_events }}
WHERE event_type = 'open'
GROUP BY ALL
