"""The tool layer: typed tool specs, argv builders, the command runner, redaction."""
