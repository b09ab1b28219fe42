"""The sandbox's controllers, one module per controller, run by `loop.reconcile`."""
