"""DNS and reputation probes; every answer becomes a fact with time, resolver, TTL and failure state."""
