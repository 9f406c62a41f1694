-- compare_session.sql — session settings of every compare connection, run
-- before BEGIN on both servers so both print values the same way: names
-- schema-qualified (only pg_catalog in the search_path), timestamps in UTC,
-- ISO dates, exact floats, hex bytea, postgres-style intervals, C money.
-- No parameters.
SET search_path = pg_catalog, pg_temp;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 3;
SET bytea_output = 'hex';
SET lc_monetary = 'C';
