"""agrifleet.drivers."""
