"""The remote resources screen."""
