"""Tests of ldstore.testing, the fake LaunchDarkly API (a package so its helpers import)."""
