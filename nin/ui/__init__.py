"""The Gradio page: components, layout, handlers, wiring, and the server's limits."""
