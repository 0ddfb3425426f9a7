"""Floor 4: how a network learns."""
