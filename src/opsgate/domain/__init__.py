"""Plain data shared by every layer: tool calls, approvals, audit events, run status. No I/O."""
