"""Areas: Meteoalarm outlines of Latvia and the city's own neighbourhoods."""
