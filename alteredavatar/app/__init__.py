"""`alteredavatar app`: the web app (Gradio). The top stage: it may import anything, only cli.py imports it.

config.py (its settings), sessions.py (per-session folders and upload checks), jobs.py (what the buttons run:
the product's own `run_stylize` and GLB export), ui.py (the page and the server).
"""
