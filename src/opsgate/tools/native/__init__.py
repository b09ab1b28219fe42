"""Reads served by talking to the API server directly, printing exactly what kubectl prints.

`pool` holds one connection per context (built by `binaries`, carried in `ToolEnv.api`);
`get` and `logs` are `k8s_get` and `k8s_logs` without spawning kubectl; `action.NativeFirst`
is the tool action that tries them and runs kubectl for anything they do not serve, saying
which path ran and why.
"""
