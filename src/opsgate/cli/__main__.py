"""`python -m opsgate.cli`: the same as the `opsgate` command."""

from opsgate.cli.main import main

main()
