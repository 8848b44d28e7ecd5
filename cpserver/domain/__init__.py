"""The rules of MISSION.md as plain functions, independent of HTTP."""
