"""The small hierarchy of errors the core raises. Every message names the file it is about."""

from __future__ import annotations


class LabelerError(Exception):
    """Base class: something the user can act on, with a one-line reason."""


class InvalidShapeError(LabelerError, ValueError):
    """A shape cannot exist as given (a polygon of two points, a self-intersecting ring, ...)."""


class AnnotationFileError(LabelerError):
    """An annotation file cannot be read (corrupt JSON, wrong structure)."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class ImageReadError(LabelerError):
    """An image cannot be decoded, is truncated, or is too large."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class ImageTooLargeError(LabelerError):
    """An image is too large for an operation that needs it whole in memory."""


class SchemaError(LabelerError):
    """A label schema is malformed or a class is not in it."""


class ProjectError(LabelerError):
    """A project folder is missing, malformed, or locked by another process."""


class ProjectLockedError(ProjectError):
    """Another process holds the project; it was opened read-only."""


class UnsafePathError(LabelerError):
    """A path from a dataset would resolve outside the folder it must stay in."""


class FormatError(LabelerError):
    """A dataset in some format is malformed."""
