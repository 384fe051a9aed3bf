"""agrifleet.sim."""
