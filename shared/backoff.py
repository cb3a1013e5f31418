"""The delay schedule moved to ``shared.retry``. This name remains only for callers being
moved by parallel work (``store/consumer.py``, ``up.py``): delete it once they import
``newsdrop.shared.retry``."""

from newsdrop.shared.retry import Backoff, backoff_seconds

__all__ = ["Backoff", "backoff_seconds"]
