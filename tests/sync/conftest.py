"""The syncing fake's tests use the suite's redis-server and moto server (tests/store_servers.py)."""
