"""The one exception CLI commands raise for bad input; ``main`` turns it into exit status 2."""


class UsageProblem(Exception):
    """Bad input or usage: reported as one line on stderr with exit status 2."""
