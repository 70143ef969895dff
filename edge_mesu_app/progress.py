"""A progress bar on stderr for long work, shown only to a person watching a terminal.

:class:`Progress` draws tqdm's bar when stderr is a terminal and ``quiet`` is not set; when stderr is a
file or a pipe (CI logs, ``2> log``) or with ``--quiet`` it draws nothing. Without tqdm installed
(``pip install 'edge-mesu[progress]'``) a terminal gets a plain one-line bar instead.
"""

from __future__ import annotations

import shutil
import sys
from types import TracebackType
from typing import IO, Any

__all__ = ["Progress", "add_quiet_argument"]


def add_quiet_argument(parser: Any) -> None:
    """The ``--quiet`` option of every command with long work."""
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar (one is drawn on stderr only when it is a terminal)"
    )


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """``total`` steps of ``desc``; ``update(n)`` adds steps, ``set(done)`` jumps, ``note`` shows a postfix.

    >>> import io
    >>> with Progress(10, "demo", stream=io.StringIO()) as bar:  # not a terminal: draws nothing
    ...     bar.update(5)
    >>> bar.active
    False
    """

    def __init__(
        self,
        total: int | None,
        desc: str,
        *,
        unit: str = "it",
        quiet: bool = False,
        initial: int = 0,
        stream: IO[str] | None = None,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.total, self.desc, self.done = total, desc, int(initial)
        self._tqdm: Any = None
        self.active = not quiet and _is_terminal(self.stream)
        if not self.active:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            self._draw()
            return
        width = shutil.get_terminal_size(fallback=(80, 24)).columns or 80  # tqdm's own probe can find 0
        self._tqdm = tqdm(
            total=total, initial=initial, desc=desc, unit=unit, file=self.stream, leave=True, ncols=min(width, 120)
        )

    @staticmethod
    def shown(quiet: bool = False, stream: IO[str] | None = None) -> bool:
        """Whether a bar would be drawn (to skip work, e.g. counting rows, that only the bar needs)."""
        return not quiet and _is_terminal(sys.stderr if stream is None else stream)

    def _draw(self, note: str = "") -> None:
        if self.total:
            filled = int(30 * min(self.done, self.total) / self.total)
            bar = f"|{'#' * filled}{' ' * (30 - filled)}| {self.done}/{self.total}"
        else:
            bar = f"{self.done}"
        self.stream.write(f"\r{self.desc}: {bar} {note}")
        self.stream.flush()

    def update(self, n: int = 1, note: str = "") -> None:
        self.set(self.done + int(n), note)

    def set(self, done: int, note: str = "") -> None:
        self.done = int(done)
        if not self.active:
            return
        if self._tqdm is None:
            self._draw(note)
            return
        self._tqdm.n = self.done
        if note:
            self._tqdm.set_postfix_str(note, refresh=False)
        self._tqdm.refresh()

    def write(self, line: str, file: IO[str] | None = None) -> None:
        """A line of text (on stderr, or ``file``) that does not break the bar."""
        out = self.stream if file is None else file
        if self._tqdm is not None:
            self._tqdm.write(line, file=out)
            return
        if self.active:
            self.stream.write("\n")
            self.stream.flush()
        out.write(line + "\n")
        out.flush()

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None
        elif self.active:
            self.stream.write("\n")
            self.stream.flush()
        self.active = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
