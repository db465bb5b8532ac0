"""Modal dialogs: confirm, choose, prompt, open, export, help."""
