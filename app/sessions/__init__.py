"""Training and debugging controllers; no Textual here."""
