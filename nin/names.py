"""The project's vocabulary: Fashion-MNIST's ten class names, the network's stage names, and the sides every
layer shares: the 28 px image and the drawing canvas.

Plain tuples and one string function, no torch: the model (nin/model.py) is built from these names, and
the pictures (nin/render) label with them without importing the network.
"""

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SIZE = 28  # px: the side of a Fashion-MNIST image, and of every input before the network's resize
CANVAS_SIDE = 280  # the app's drawing canvas: stroke coordinates and brush sizes are in its units
EXPORT_SIDE = 140  # px of the ink the canvas sends (half its side), where the canvas path fills outlines

STAGES = ("block1", "pool1", "block2", "pool2", "block3", "pool3",
          "dropout", "block4", "gap", "flatten")
# The stages worth drawing: dropout is the identity at inference and gap/flatten are the 10 logits.
FEATURE_STAGES = ("block1", "pool1", "block2", "pool2", "block3", "pool3", "block4")


def class_slug(name: str) -> str:
    """A class name as it appears in file names: "T-shirt/top" -> "t-shirt-top"."""
    return name.lower().replace("/", "-").replace(" ", "-")
