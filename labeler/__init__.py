"""labeler: a desktop tool for making image-segmentation training sets."""

__version__ = "0.1.0"
