"""The project's vocabulary: Fashion-MNIST's ten class names and the network's stage names.

Plain tuples and one string function, no torch: the model (nin/model.py) is built from these names, and
the pictures (nin/render) label with them without importing the network.
"""

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
NUM_CLASSES = len(CLASS_NAMES)

STAGES = ("block1", "pool1", "block2", "pool2", "block3", "pool3",
          "dropout", "block4", "gap", "flatten")
# The stages worth drawing: dropout is the identity at inference and gap/flatten are the 10 logits.
FEATURE_STAGES = ("block1", "pool1", "block2", "pool2", "block3", "pool3", "block4")


def class_slug(name: str) -> str:
    """A class name as it appears in file names: "T-shirt/top" -> "t-shirt-top"."""
    return name.lower().replace("/", "-").replace(" ", "-")
