"""Files we write out: CSV cells a spreadsheet cannot run as formulas, and files that appear
whole or not at all (written to a temporary file beside the target, renamed into place).

Every CSV writer in userops goes through :func:`csv_writer`; every file output through
:func:`atomic_output` (docs/reliability.md, "Outputs").
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from core.errors import CoreError

# A cell a spreadsheet would read as a formula (or, for tab and CR, one that hides a formula
# behind a field separator): OWASP's list.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain number written as text is still a number to a spreadsheet, never a formula: -3.5,
# +8613800000000 (a phone number), 1e-3 stay as they are.
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class OutputError(CoreError):
    """A file could not be written; nothing was left at its path."""

    title = "Cannot write the file"


def csv_cell(value: Any, *, raw: bool = False) -> Any:
    """``value`` as a CSV cell: text that a spreadsheet would run as a formula gets a leading
    ``'`` (shown by the spreadsheet as text); numbers, and text that is a plain number, are
    left alone. ``raw`` writes every value unchanged."""
    if raw or not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


class SafeCsvWriter:
    """``csv.writer`` whose rows go through :func:`csv_cell` (the header too: column names
    come from imported files)."""

    def __init__(self, out: IO[str], *, raw: bool = False, **options: Any) -> None:
        self._writer = csv.writer(out, **options)
        # csv quotes a field holding \r only when \r is in the line terminator: a row with
        # one goes through a writer that quotes every field, else a reader splits the line.
        self._quoted = csv.writer(out, **{**options, "quoting": csv.QUOTE_ALL})
        self._raw = raw

    def writerow(self, row: Iterable[Any]) -> Any:
        cells = [csv_cell(v, raw=self._raw) for v in row]
        if any(isinstance(v, str) and "\r" in v for v in cells):
            return self._quoted.writerow(cells)
        return self._writer.writerow(cells)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out: IO[str], *, raw: bool = False, **options: Any) -> SafeCsvWriter:
    """The one CSV writer of userops (``options`` as for ``csv.writer``)."""
    return SafeCsvWriter(out, raw=raw, **options)


class AtomicFile:
    """A file being written beside its target; :meth:`finish` makes sure every byte reached
    the disk, :meth:`keep` renames it into place. Until then the target is untouched."""

    def __init__(self, target: Path, file: IO[str], temp: Path) -> None:
        self.target, self.file, self.temp = target, file, temp
        self.kept = False

    def finish(self) -> None:
        """Flush, sync and close: a full disk is found here, before anything is logged."""
        if self.file.closed:
            return
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
        except OSError as exc:
            raise _write_error(self.target, exc) from exc

    def keep(self) -> None:
        self.finish()
        try:
            os.replace(self.temp, self.target)
        except OSError as exc:
            raise _write_error(self.target, exc) from exc
        self.kept = True

    def discard(self) -> None:
        with suppress(OSError):
            self.file.close()
        with suppress(OSError):
            self.temp.unlink()


def _write_error(target: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    return OutputError(f"cannot write {target}: {reason}; nothing was written there")


@contextmanager
def atomic_output(path: str | Path, *, newline: str | None = "") -> Iterator[AtomicFile]:
    """Write ``path`` whole or not at all: the body writes ``.file`` (a temporary file in the
    target's directory, so the rename is atomic), and the file is renamed into place when the
    body ends without an error (or earlier, by ``keep()``). On any error, the temporary file is
    removed and the target is left as it was. Write failures (a full disk, a size limit, a
    read-only directory) raise :class:`OutputError` with a one-line reason."""
    target = Path(path)
    try:
        fd, name = tempfile.mkstemp(
            dir=target.parent if str(target.parent) else ".",
            prefix=f".{target.name}.",
            suffix=".part",
        )
    except OSError as exc:
        raise _write_error(target, exc) from exc
    temp = Path(name)
    with suppress(OSError):  # mkstemp makes it 0600; a finished export reads like any new file
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
    out = AtomicFile(target, open(fd, "w", encoding="utf-8", newline=newline), temp)  # noqa: SIM115 (closed by finish/discard)
    try:
        yield out
        out.keep()
    except OSError as exc:
        out.discard()
        raise _write_error(target, exc) from exc
    except BaseException:
        out.discard()
        raise
