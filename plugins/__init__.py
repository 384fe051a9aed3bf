"""Built-in implements: sprayer, seeder, spreader, mower and survey camera.

Each is a plugin of the ``agrifleet.implements`` entry-point group written against the same public
contract (:class:`agrifleet.core.implement.Implement`) a third-party author uses; nothing in agrifleet
imports them directly. Build one through the registry: ``build_implement("sprayer:boom_width_m=24")``.
"""
from __future__ import annotations

__all__ = ["camera", "mower", "seeder", "spreader", "sprayer"]
