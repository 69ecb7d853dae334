"""Shipped search-space configs (JSON) and hand-designed architectures (*.arch.json)."""
