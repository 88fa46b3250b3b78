-- The per-IP limit on every route (API.md: RATE_LIMIT_IP_PER_MINUTE): one
-- counter per (client address and route, minute), bumped by a single upsert so
-- the limit costs one statement per request and holds across instances. A
-- fixed window, unlike the sliding log of rate_limit_events: this limit is a
-- coarse ceiling against floods, and a row per request would be the flood.
CREATE TABLE request_counts (
    bucket text NOT NULL,
    window_start timestamptz NOT NULL,
    hits integer NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
-- The retention job deletes finished windows by age.
CREATE INDEX request_counts_window_start ON request_counts (window_start);
