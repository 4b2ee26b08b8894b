"""Deleting safely: the rules that protect results, the remote inventory and its flags."""
