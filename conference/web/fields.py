"""Form field descriptions: routes describe their forms with these, one macro renders them all."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | email | tel | textarea | select | date | password
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    help: str = ""
    max_length: int | None = None
