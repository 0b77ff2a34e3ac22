"""The local model in the window: the Train dialog and its live plot, model pre-labels and
accepting them, the next most useful image, and the pixel classifier's live preview."""
