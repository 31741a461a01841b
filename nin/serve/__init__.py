"""The request path: image -> preprocess -> model -> explanation (numbers only, no pictures, no UI)."""
