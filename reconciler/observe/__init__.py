"""Read-only observation: turns provider reads into model.Observed* values."""
