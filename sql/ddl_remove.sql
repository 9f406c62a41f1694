-- sql/ddl_remove.sql — removes what sql/ddl_install.sql made (stream cleanup).
DROP EVENT TRIGGER IF EXISTS pgshift_ddl_end;
DROP EVENT TRIGGER IF EXISTS pgshift_ddl_drop;
DROP SCHEMA IF EXISTS pgshift CASCADE;
