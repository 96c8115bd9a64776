"""Filling a DataTable with its columns as wide as their widest cell.

Textual's DataTable measures its columns lazily; rows that arrive while the screen is busy can
leave a column at its header's width (tag names cut to one character, dates to "2024": seen on
a loaded machine). Widths given up front do not depend on when the table is drawn."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

Cell = str | Text


def _width(cell: Cell) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


def fill_table(
    table: DataTable,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[tuple[str, Sequence[Cell]]],
) -> None:
    """Clear ``table`` and fill it: ``columns`` are (key, header), ``rows`` (key, cells)."""
    table.clear(columns=True)
    for i, (key, header) in enumerate(columns):
        width = max([_width(header)] + [_width(cells[i]) for _, cells in rows if i < len(cells)])
        table.add_column(header, key=key, width=width)
    for key, cells in rows:
        table.add_row(*cells, key=key)
