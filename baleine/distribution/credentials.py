"""Moved to ``baleine.client.credentials`` (docker's config.json is the client's
business); re-exported here for the registry client's callers."""

from __future__ import annotations

from ..client.credentials import (TOKEN_USERNAME, CredentialsError, config_dir, config_path, erase,  # noqa: F401
                                  get, load_config, save_config, store)

__all__ = ["TOKEN_USERNAME", "CredentialsError", "config_dir", "config_path", "erase", "get", "load_config",
           "save_config", "store"]
