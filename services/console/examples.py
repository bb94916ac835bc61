"""The example patients the cohort builder ships (``models/examples/<model>/``), made
current for the console.

Each example has a fixed index time (the time it is meant to be scored at), while a
hook scores at the time it is called. :func:`retimed` moves every date of a Bundle by
one shift, so that the example's index time becomes now and ages and intervals stay
as they were.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters import parse_datetime
from models.cohort.examples import INDEX
from models.registry import PACKAGED_MODEL_DIR

EXAMPLES_DIR = PACKAGED_MODEL_DIR / "examples"
_DATE = re.compile(
    r'"(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?"'
)


@dataclass(frozen=True, slots=True)
class Example:
    """One example patient: its model, its Bundle's file name and its index time."""

    model: str
    file: str
    index_time: str
    dataset: str
    row: int

    @property
    def label(self) -> str:
        """What the console calls it (the data set row it was made from, never PHI)."""
        return f"{self.dataset} row {self.row}"


def list_examples(models: set[str], folder: Path = EXAMPLES_DIR) -> list[Example]:
    """The example patients of the ``models`` given, by model then as listed."""
    found: list[Example] = []
    for model in sorted(models):
        index = folder / model / INDEX
        if not index.is_file():
            continue
        for e in json.loads(index.read_text())["examples"]:
            found.append(Example(model, e["file"], e["index_time"], e["dataset"], e["row"]))
    return found


def current_bundle(example: Example, folder: Path = EXAMPLES_DIR) -> dict:
    """The example's Bundle with its index time moved to now."""
    bundle = json.loads((folder / example.model / example.file).read_text())
    return retimed(bundle, datetime.now(UTC) - parse_datetime(example.index_time))


def retimed(bundle: dict, shift: timedelta) -> dict:
    """``bundle`` with every date and dateTime moved by ``shift`` (ages and intervals kept)."""

    def move(match: re.Match[str]) -> str:
        day, time = match.group(1), match.group(2)
        if time is None:
            return f'"{(datetime.fromisoformat(day) + shift).date().isoformat()}"'
        moved = parse_datetime(day + time) + shift
        return f'"{moved.isoformat()}"'

    return json.loads(_DATE.sub(move, json.dumps(bundle)))
