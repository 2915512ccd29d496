"""Gates: the scope, the checks over recorded runs, gate reviews, assessment and decision."""
