"""Exit statuses every newsdrop command shares."""

from __future__ import annotations

# A configuration error: invalid settings or usage, or a start refused for its configuration
# (another NEWSDROP_PARTITIONS than recorded, an instance another process runs, ...).
# `newsdrop up` does not restart a child that exits with it.
CONFIG_ERROR = 2
