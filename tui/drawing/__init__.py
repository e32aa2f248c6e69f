"""Pure functions that turn a run's arrays into pictures, one module per subject: `curves`
(loss and accuracy plots), `weights` (tiles and heatmaps) and `regions` (decision regions).

The widgets in tui/components draw what these functions compute, so everything about the
pictures that can be wrong (downsampling, smoothing, colour scales, tile layout, decision
regions) is tested without a terminal.
"""
