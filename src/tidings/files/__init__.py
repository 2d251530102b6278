"""Stored file contents: a small interface, on local disk or in memory."""

from tidings.files.base import CHUNK_SIZE, FileStorage, validate_key
from tidings.files.local import LocalFileStorage
from tidings.files.memory import MemoryFileStorage

__all__ = [
    "CHUNK_SIZE",
    "FileStorage",
    "LocalFileStorage",
    "MemoryFileStorage",
    "validate_key",
]
