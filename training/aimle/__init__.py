"""AIMLE (3GPP TS 23.482 / TS 29.482) services of the training app."""
