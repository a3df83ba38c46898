ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';
GRANT UPDATE (status) ON orders TO shop_app;
