CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  item text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON orders TO shop_app;
GRANT USAGE ON SEQUENCE orders_id_seq TO shop_app;
