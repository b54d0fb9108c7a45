-- codedesk schema, version 2: devices by phone number, so that
-- enroll-device can name the other users enrolled with the same number
-- (codes texted to it, and a callback to it, reach whoever holds it).
-- Shipped migrations are never edited; add 0003_*.sql instead.

CREATE INDEX devices_by_phone ON devices (phone);
