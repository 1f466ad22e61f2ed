"""Browser tests: Playwright driving Chromium against a real `cairn serve`."""
