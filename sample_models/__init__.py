"""The sample designs: this folder is the one copy, installed as package data."""

from __future__ import annotations

from pathlib import Path

SAMPLES_DIR = Path(__file__).parent
DEFAULT_SAMPLE = "mlp_digits"


def sample_names() -> list[str]:
    """The names of the shipped samples, sorted."""
    return sorted(p.stem for p in SAMPLES_DIR.glob("*.json"))


def sample_path(name: str = DEFAULT_SAMPLE) -> Path:
    """The file of one shipped sample."""
    path = SAMPLES_DIR / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no sample called {name!r} (samples: {', '.join(sample_names())})")
    return path
