"""Pure helpers that read the Compose Specification's own formats: interpolation templates,
`.env` files, shell-like command strings and names. Pure: no I/O."""
