"""Orchestrators: deterministic generator functions that sequence the activities."""

from orchestrators import migration, rollback
from orchestrators.blueprint import bp

__all__ = ["bp", "migration", "rollback"]
