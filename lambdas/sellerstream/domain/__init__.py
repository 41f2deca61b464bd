"""What the use cases and the adapters exchange: plain records, no storage or transport in them."""
