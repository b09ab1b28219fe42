"""Revisions: an append-only list; never edit one that has shipped, add a new one."""
