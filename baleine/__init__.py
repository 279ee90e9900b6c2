"""Baleine: a container engine that speaks the Docker Engine API."""

__version__ = "0.1.0"

#: The Engine API version this daemon implements, and the oldest it accepts.
API_VERSION = "1.47"
MIN_API_VERSION = "1.24"
