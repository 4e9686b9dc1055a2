-- The design's first migration, run by the demo as the migrator after `SET ROLE <owner>`, so the
-- table belongs to the owner role. Idempotent: the demo may run twice against one cluster.
-- Placeholders (quoted identifiers): {schema}, {owner}.
SET ROLE {owner};

CREATE TABLE IF NOT EXISTS {schema}.orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_no text NOT NULL UNIQUE,
  status text NOT NULL DEFAULT 'created',
  amount numeric(12, 2) NOT NULL CHECK (amount >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS orders_status_created_at_idx
ON {schema}.orders (status, created_at DESC);

INSERT INTO {schema}.orders (order_no, status, amount) VALUES
  ('ORD-1001', 'created', 42.00),
  ('ORD-1002', 'paid', 19.90),
  ('ORD-1003', 'shipped', 7.50)
ON CONFLICT (order_no) DO NOTHING;

RESET ROLE;
