-- catalog_large_objects.sql — large object oids, in order, for batching.
-- No parameters.
SELECT oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid
