"""agrifleet.plugins."""
