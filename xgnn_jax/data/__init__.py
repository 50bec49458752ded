"""The chapter's data sets (datasets): shipped (watermelon 3.0) or drawn from a key; no download."""
