"""`python -m dailypapers` runs the command line."""

from dailypapers.cli import main

main()
