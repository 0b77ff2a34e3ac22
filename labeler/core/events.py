"""A minimal signal: the model emits, views subscribe. No Qt here."""

from __future__ import annotations

from typing import Callable


class Signal:
    def __init__(self) -> None:
        self._slots: list[Callable] = []

    def connect(self, slot: Callable) -> Callable:
        if slot not in self._slots:
            self._slots.append(slot)
        return slot

    def disconnect(self, slot: Callable) -> None:
        if slot in self._slots:
            self._slots.remove(slot)

    def emit(self, *args) -> None:
        for slot in list(self._slots):
            slot(*args)
