"""agrifleet.planners."""
