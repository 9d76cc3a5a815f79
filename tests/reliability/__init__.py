"""Faults and abuse (issue 7): bounded tests that nothing accepted is lost and nobody gets in."""
