"""What the world's verb groups (faults.py, requests.py, choices.py) may use of World.

`World` inherits them and provides all of this; declaring it once here lets each
group be read, and type-checked, on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from raft import Node


class WorldPart:
    """The state and the recorder every verb group shares with `World`."""

    now: int
    nodes: dict[str, Node]

    if TYPE_CHECKING:

        def _record(
            self,
            node: str | None,
            component: str,
            kind: str,
            template: str,
            args: tuple = (),
            msg_id: int | None = None,
        ) -> None: ...
