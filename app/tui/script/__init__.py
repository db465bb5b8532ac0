"""`stepgrad debug SCRIPT.py`: the Debug screen over a person's own script, and its model."""
