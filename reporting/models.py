"""Rollup tables arrive with the reporting issue."""
