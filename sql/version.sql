-- placeholder
SELECT pg_catalog.version()
