"""The container simulation: the kubelet, container states, programs, probes, logs and exec."""
