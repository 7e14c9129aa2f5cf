"""Bounded in-memory stores. Every store has a cap and evicts oldest first."""
