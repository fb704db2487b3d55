"""Homer's calculation: motors, the point-mass trajectory model, predictions."""
