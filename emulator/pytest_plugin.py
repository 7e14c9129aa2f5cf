"""pytest plugin entry point (pytest11). The fixtures land with the CI-experience issue; the entry
point exists now so installing the package never changes which plugins pytest loads."""
