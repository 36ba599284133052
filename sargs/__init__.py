"""Sargs — the civil-defence and early-warning system of a Latvian city.

The import package ``sargs`` is the kernel; the domain folders (channels,
warnings, cad, shelters, reserves, volunteers, exercises) are mapped into it
as subpackages by ``pyproject.toml``.
"""

__version__ = "0.1.0"
