"""Shared fixtures. Tests never reach a real model provider."""
