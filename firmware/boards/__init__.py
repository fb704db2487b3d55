"""Board files: one plain dict per pad box, the single source of its pin map."""
