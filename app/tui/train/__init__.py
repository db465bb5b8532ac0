"""The Train screen: a run in the background with its plots and health."""
