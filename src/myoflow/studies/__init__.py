"""Study-level composition: what one study's jobs compute from the library's parts."""
