"""Operator rules over the features: lifecycle layers, tags, and what they share."""
