"""ScratchNet's engine: a multilayer perceptron and its training, in NumPy alone.

Nothing here imports Textual or Rich; the app, the CLI and the tests all drive it the same way.
"""
