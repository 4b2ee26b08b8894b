"""The remote service: the google-genai client, raw REST reads, retry policy, upload tokens, models and prices."""
