"""Numbers -> pictures and HTML: numpy, PIL and strings only, no torch and no Gradio."""
