"""Chat model providers behind one small protocol (see `models.base`)."""
