"""`python -m alloy_scripting.cli`."""

from alloy_scripting.cli.main import main

main()
