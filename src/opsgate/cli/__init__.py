"""The `opsgate` command line: serving, the sandbox, chat, approvals, audit and administration."""
