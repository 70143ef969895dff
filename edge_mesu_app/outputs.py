"""Output paths checked before the work starts, and artefacts written all-or-nothing.

Every command checks each path it will write (``check_file``, ``check_dir``) before it reads a recording or
learns anything: a missing or unwritable directory is refused in milliseconds, with the user's path and
option in the message. A command writing several artefacts stages them (:class:`Staging`): each is
written to a hidden temporary beside its target and the temporaries are renamed into place together at
the end; a failure on the way removes every temporary, so no target is created or changed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

__all__ = ["Staging", "check_distinct", "check_dir", "check_file", "user_error"]


def _probe(directory: Path, what: str) -> None:
    """Refuse ``directory`` unless a file can be created in it (a real try: permissions, read-only mounts)."""
    if not directory.exists():
        raise ValueError(f"{what}: directory {directory} does not exist")
    if not directory.is_dir():
        raise ValueError(f"{what}: {directory} is not a directory")
    try:
        fd, name = tempfile.mkstemp(prefix=".edge-mesu-probe.", dir=directory)
    except OSError as exc:
        raise ValueError(f"{what}: cannot write in directory {directory} ({exc.strerror})") from None
    os.close(fd)
    os.unlink(name)


def check_file(path: str | os.PathLike, option: str) -> Path:
    """``path`` as a ``Path`` if a file can be written there; ``ValueError`` naming ``option`` and the path."""
    target = Path(path)
    what = f"{option} {target}"
    if target.is_dir():
        raise ValueError(f"{what}: is a directory, not a file")
    _probe(target.parent if str(target.parent) else Path("."), what)
    return target


def check_dir(path: str | os.PathLike, option: str) -> Path:
    """``path`` as a ``Path`` if it is (or can be created as) a writable directory; else ``ValueError``."""
    target = Path(path)
    what = f"{option} {target}"
    if target.exists():
        if not target.is_dir():
            raise ValueError(f"{what}: exists and is not a directory")
        _probe(target, what)
    else:
        _probe(target.parent if str(target.parent) else Path("."), what)
    return target


def check_distinct(paths: dict[str, Path]) -> None:
    """Refuse two options naming the same output file (``{option: path}``)."""
    seen: dict[Path, str] = {}
    for option, path in paths.items():
        key = path.resolve()
        if key in seen:
            raise ValueError(f"{seen[key]} and {option} name the same file {path}")
        seen[key] = option


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class Staging:
    """Hidden temporaries beside their targets, renamed into place together by :meth:`commit`.

    Use as a context manager: leaving it by an exception (or without ``commit``) removes every temporary.
    """

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path]] = []
        self._dirs: list[tuple[Path, Path]] = []

    def file(self, target: Path) -> Path:
        """A temporary path for ``target`` in its directory (not created: the writer creates it)."""
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        self._files.append((tmp, target))
        return tmp

    def directory(self, target: Path) -> Path:
        """A new empty temporary directory for ``target`` beside it (mode as ``mkdir`` would give)."""
        parent = target.parent if str(target.parent) else Path(".")
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=parent))
        os.chmod(tmp, 0o777 & ~_umask())
        self._dirs.append((tmp, target))
        return tmp

    def user_text(self, text: str) -> str:
        """``text`` with every temporary's path replaced by its target's (messages name the user's paths)."""
        for tmp, target in self._files + self._dirs:
            text = text.replace(str(tmp), str(target)).replace(tmp.name, target.name)
        return text

    def commit(self) -> None:
        """Rename every temporary into place (files of a staged directory join an existing target one)."""
        for tmp, target in self._files:
            os.replace(tmp, target)
        for tmp, target in self._dirs:
            if not target.exists():
                os.rename(tmp, target)
                continue
            for item in sorted(tmp.iterdir()):
                os.replace(item, target / item.name)
            tmp.rmdir()
        self._files, self._dirs = [], []

    def discard(self) -> None:
        """Remove every temporary (nothing of the staged artefacts remains)."""
        for tmp, _ in self._files:
            if tmp.exists():
                tmp.unlink()
        for tmp, _ in self._dirs:
            shutil.rmtree(tmp, ignore_errors=True)
        self._files, self._dirs = [], []

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.discard()


def user_error(exc: BaseException) -> str:
    """One line for the user: an ``OSError`` as ``path: reason`` (no errno, no traceback)."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)
