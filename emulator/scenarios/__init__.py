"""Scenario files: scripted backends that users write, validate and reload."""
