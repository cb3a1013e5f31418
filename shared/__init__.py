"""Code shared by the newsdrop services: model, parsing, settings, logging, Redis keys."""
