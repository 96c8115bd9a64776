"""Numbers about users: per-user features, RFM scoring and reports, the purchase models."""
