-- codedesk schema for PostgreSQL, version 2: as ../0002_devices_by_phone.sql.
-- Shipped migrations are never edited; add 0003_*.sql instead.

CREATE INDEX devices_by_phone ON devices (phone);
