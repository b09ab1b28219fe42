"""Diagnostics that need no model: deterministic analyzers over the cluster's state.

`k8s_diagnose` (in `tool.py`, served with the kubectl family) reads the state once
(`state.py`), runs every analyzer (`analyzers.py`: pods in `pods.py`, everything else in
`objects.py`) and returns a `domain.findings.Diagnosis`: findings with their evidence and, where
obvious, a proposed fix as a typed call that is gated like any other when someone chooses it.
docs/diagnostics.md lists the analyzers.
"""
