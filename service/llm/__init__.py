"""Every model call goes through this package: litellm, the embedded local server, and a stub for tests."""
