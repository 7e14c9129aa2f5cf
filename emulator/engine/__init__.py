"""Pure core: turns a validated request (and stored state) into a Plan. Knows nothing of HTTP."""
