"""Docker's pure rules: parsing and validation shared by the engine, the API and the CLI.

Nothing here does I/O or keeps state (units, signals, filters, references,
timestamps, docker cp's path rules, the error vocabulary), so the CLI may import it
without paying for the engine.
"""
