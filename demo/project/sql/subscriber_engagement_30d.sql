-- Rolling 30-day opens and clicks per subscriber, from the daily counts.
WITH change_points AS (
  SELECT subscriber_id, as_of, opens, clicks
  FROM {{ subscriber_daily_engagement }}
  UNION ALL
  -- A day's activity leaves the window 30 days later: add a row then so the count drops.
  SELECT subscriber_id, as_of + INTERVAL 30 DAY, 0, 0
  FROM {{ subscriber_daily_engagement }}
),
per_day AS (
  SELECT subscriber_id, as_of, sum(opens) AS opens, sum(clicks) AS clicks
  FROM change_points
  GROUP BY ALL
)
SELECT
  subscriber_id,
  as_of,
  CAST(sum(opens) OVER last_30_days AS BIGINT) AS opens_30d,
  CAST(sum(clicks) OVER last_30_days AS BIGINT) AS clicks_30d
FROM per_day
-- as_of is always midnight, so 29 days back plus the current row is (as_of - 30 days, as_of].
WINDOW last_30_days AS (
  PARTITION BY subscriber_id
  ORDER BY as_of
  RANGE BETWEEN INTERVAL 29 DAY PRECEDING AND CURRENT ROW
)
