"""Typed records of every topic (pydantic). Each record carries a ``schema_version``."""
