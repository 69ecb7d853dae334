"""Models: candidate operations (a registry of compact names), search spaces from config, the super-network."""
