"""The HTTP edge: parse, authenticate, route, render. Nothing else."""
