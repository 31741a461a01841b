"""The hostile requests the app must survive, measured (`python -m nin.dev.attack --launch`): requests.py (events
sent as the browser sends them), rows.py (through Gradio's events), server_rows.py (the server around the
page), __main__.py (the table). The API tests call the same rows against the in-process server.
"""
