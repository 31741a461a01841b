"""The Gradio page: components, layout, handlers, wiring, the refusals, and the server's limits."""
