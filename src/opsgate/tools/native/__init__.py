"""Reads served by talking to the API server directly, printing exactly what kubectl prints.

`pool` holds one connection per context (built by `binaries`, carried in `ToolEnv.api`);
`get` is `k8s_get` without spawning kubectl; `action.NativeFirst` is the tool action that
tries it and runs kubectl for anything it does not serve, saying which path ran and why.
"""
