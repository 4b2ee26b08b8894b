"""The results browser."""
