"""``asdbench report``: a grid's tables, runs and their provenance as a static site (:mod:`.build`)."""
