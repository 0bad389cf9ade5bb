"""Tests of the production topology (echelon/serving, `make serve`)."""
