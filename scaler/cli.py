"""The ``scaler`` command (filled in below)."""


def main() -> int:
    return 0
