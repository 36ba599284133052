"""Activations: the kernel record of an emergency or an exercise."""
