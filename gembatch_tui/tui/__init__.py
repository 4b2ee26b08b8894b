"""The full-screen app: the App, its polling, messages and palette; one folder per screen family."""
