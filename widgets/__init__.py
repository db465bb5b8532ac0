"""Reusable Textual widgets for stepgrad's screens; they never import `app`."""
