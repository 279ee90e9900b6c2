"""Moved to ``baleine.rules.dockerignore`` (docker's pattern rules, shared by the
builder and the client that tars the context); re-exported here for the builder."""

from __future__ import annotations

from ..rules.dockerignore import Pattern, PatternMatcher, clean, matches, read_patterns  # noqa: F401

__all__ = ["Pattern", "PatternMatcher", "clean", "matches", "read_patterns"]
