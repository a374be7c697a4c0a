"""Analytics over CDOP case data: completion measures and related views."""
