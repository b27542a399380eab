"""The storydesk exception tree.

Expected drops (an empty page, a duplicate) are ``Rejection`` values, not
exceptions. These are real failures::

    StorydeskError
    ├── ConfigError          a setting has a bad value
    ├── InputError           a file or record cannot be read
    │   ├── FileTooLarge     over the size limit
    │   ├── BinaryInput      not text
    │   └── MalformedInput   broken JSON, a feed that does not parse, ...
    ├── ModelError           a model cannot be loaded or fails verification
    │   └── ChecksumMismatch weights on disk differ from the expected sha256
    ├── StoreError           the database cannot be opened, migrated or written
    ├── SnapshotError        a saved stream state cannot be used (foreign, damaged, another version)
    ├── FetchError           a URL cannot be fetched: network, HTTP status, redirects
    │   ├── FetchRefused     not http(s), a private address with the guard on, robots.txt
    │   └── FetchTooLarge    the body is over fetch.max_bytes
    └── NotFound             no story/article with that id
"""

from __future__ import annotations


class StorydeskError(Exception):
    """Base class of every storydesk failure."""


class ConfigError(StorydeskError):
    """A setting has a value storydesk cannot use."""


class InputError(StorydeskError):
    """A file or record cannot be read as an article."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


class FileTooLarge(InputError):
    """The file is over the configured size limit."""


class BinaryInput(InputError):
    """The file holds binary data, not text."""


class MalformedInput(InputError):
    """The file's format is broken (bad JSON line, unparsable feed, ...)."""


class ModelError(StorydeskError):
    """A model cannot be loaded."""


class ChecksumMismatch(ModelError):
    """Model weights on disk do not match the expected sha256."""


class StoreError(StorydeskError):
    """The database cannot be opened, read or migrated."""


class SnapshotError(StorydeskError):
    """A stream-state file that cannot be used (foreign, damaged or from another version)."""


class NotFound(StorydeskError):
    """No story or article has that id."""


class FetchError(StorydeskError):
    """A URL cannot be fetched (network failure, HTTP error status, too many redirects)."""

    def __init__(
        self, url: str, reason: str, status: int | None = None, *, retry_after: float | None = None
    ) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait (Retry-After)
        super().__init__(f"{url}: {reason}")


class FetchRefused(FetchError):
    """storydesk will not fetch this URL: its scheme, its address or robots.txt forbids it."""


class FetchTooLarge(FetchError):
    """The response body is larger than ``fetch.max_bytes``."""
