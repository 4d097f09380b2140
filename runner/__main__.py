"""`python -m runner` is `eslflow`."""

from runner.cli import main

main()
