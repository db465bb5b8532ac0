"""The Build screen: edit a design, every shape and parameter count live."""
