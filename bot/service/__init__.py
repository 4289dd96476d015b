"""The service layer: load a snapshot, call the rules, apply the decision, carry out effects."""
