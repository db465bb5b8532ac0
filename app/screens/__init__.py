"""The app's screens and dialogs, one a file, each with its own .tcss."""
