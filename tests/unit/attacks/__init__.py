"""Attack corpus against the script engine sandbox."""
