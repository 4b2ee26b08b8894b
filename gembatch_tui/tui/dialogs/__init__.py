"""The questions the app asks: y/n confirmation and the delete dialog."""
