-- Running order count and average order value per subscriber, as of each order.
SELECT
  subscriber_id,
  ordered_at,
  count(*) OVER history AS orders_count,
  avg(amount) OVER history AS avg_order_value
FROM {{ orders }}
WINDOW history AS (
  PARTITION BY subscriber_id
  ORDER BY ordered_at, order_id
  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
)
