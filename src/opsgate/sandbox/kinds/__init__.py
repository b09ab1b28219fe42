"""What the sandbox serves, as data: one module per API group (resources, table columns,
defaults, validation)."""
