"""The syncing fake, end to end: real stores, read by LaunchDarkly's own SDK."""
