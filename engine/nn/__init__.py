"""Neural-network building blocks."""

from engine.nn import functional
