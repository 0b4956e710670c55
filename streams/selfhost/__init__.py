"""Running a model server on this machine, so a small instance scores with no key and no data
leaving it."""
