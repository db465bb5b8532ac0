"""The Textual app: screens, dialogs, the action table and the shared state."""
